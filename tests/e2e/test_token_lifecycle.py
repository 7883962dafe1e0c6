"""Token lifecycle against the real OP: refresh (with rotation, as a single flight), the access
token handed to the application, and the provider ending sessions (revocation, back-channel).

The OP's access tokens live 3 s and the module refreshes them 1 s before expiry, so a test
waits about 2 s of real time for a token to fall due (the provider's clock is real).
"""
import base64
import concurrent.futures
import json
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from conftest import PASSPHRASE, start_checked, _HTTPDS
from e2e_util import BROWSER, signed_in, whoami
from harness import OP, Httpd, coinpay_directives, free_port
from harness.util import wait_until
from harness.login import parse_forms

CLIENT = "lifecycle"
SECRET = "lifecycle-secret-0123456789"
API = {"Accept": "application/json"}
TTL = 3


def _wait_until_due():
    time.sleep(TTL - 1 + 0.3)


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(v):
    return int.from_bytes(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), "big")


@pytest.fixture(scope="module")
def lc_port():
    return free_port()


@pytest.fixture(scope="module")
def lc_op(lc_port, tmp_path_factory):
    base = f"http://127.0.0.1:{lc_port}"
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [base + "/api/auth/callback/coinpay"],
              "post_logout_redirect_uris": [base + "/bye"],
              "backchannel_logout_uri": base + "/api/auth/backchannel/coinpay"}
    o = OP([client], access_token_ttl=TTL, workdir=str(tmp_path_factory.mktemp("lc-op")),
           quiet=True)
    o.start()
    yield o
    o.cleanup()


@pytest.fixture(scope="module")
def lc_httpd(lc_op, lc_port):
    extra = "CoinpayRefreshBeforeExpiry 1\n<Location />\n    CoinpayRefresh always\n</Location>"
    locations = """
<Location /api/auth/backchannel/coinpay>
    SetHandler coinpay-backchannel-logout
    Require all granted
</Location>
<Location /cgi-bin>
    CoinpayPassAccessToken On
</Location>
"""
    from harness.httpd import LOCATIONS
    h = Httpd(lc_port, coinpay=coinpay_directives(
        lc_op.issuer, CLIENT, SECRET, f"http://127.0.0.1:{lc_port}/api/auth/callback/coinpay",
        passphrase=PASSPHRASE, extra=extra), locations=LOCATIONS + locations)
    _HTTPDS.append(h)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


def _app(s, h, headers=BROWSER):
    return s.get(h.url("/app/"), headers=headers, allow_redirects=False)


@pytest.mark.sanitize
def test_protected_page_keeps_working_as_tokens_are_refreshed_and_rotated(lc_httpd, lc_op):
    s = signed_in(lc_httpd, "rotating")
    first = lc_op.stats()["refresh_tokens_issued"][-1]
    lc_op.reset_stats()
    assert _app(s, lc_httpd).status_code == 200
    assert lc_op.stats()["token_calls"].get("refresh_token") is None  # not due yet
    _wait_until_due()
    assert _app(s, lc_httpd).status_code == 200
    _wait_until_due()
    assert _app(s, lc_httpd).status_code == 200
    st = lc_op.stats()
    assert st["token_calls"].get("refresh_token") == 2, st
    # Each refresh presented the newest token: the rotated one replaced the spent one.
    assert st["refresh_tokens_presented"][0] == first
    assert st["refresh_tokens_presented"][1] == st["refresh_tokens_issued"][0]
    assert st["token_errors"] == {}, st


@pytest.mark.sanitize
def test_storm_of_100_parallel_requests_makes_exactly_one_refresh(lc_httpd, lc_op):
    s = signed_in(lc_httpd, "storm")
    cookie = {"coinpay_session": s.cookies.get("coinpay_session")}
    _wait_until_due()
    lc_op.reset_stats()

    def one(_):
        return requests.get(lc_httpd.url("/app/"), cookies=cookie, headers=API,
                            allow_redirects=False, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(one, range(100)))
    assert codes.count(200) == 100, {c: codes.count(c) for c in set(codes)}
    st = lc_op.stats()
    assert st["token_calls"].get("refresh_token") == 1, st
    assert st["token_errors"] == {}, st


@pytest.mark.sanitize
def test_cgi_gets_a_valid_access_token_but_never_the_refresh_token(lc_httpd, lc_op):
    s = signed_in(lc_httpd, "cgi-user")
    r, env = whoami(s, lc_httpd)
    assert r.status_code == 200
    token = env["COINPAY_ACCESS_TOKEN"]
    assert int(env["COINPAY_ACCESS_TOKEN_EXPIRES"]) > time.time()
    assert lc_op.introspect(token, CLIENT, SECRET)["active"] is True
    for rt in lc_op.stats()["refresh_tokens_issued"]:
        assert rt not in r.text


@pytest.mark.sanitize
def test_revoked_refresh_token_sends_the_user_to_sign_in_again(lc_httpd, lc_op):
    s = signed_in(lc_httpd, "revoked")
    rt = lc_op.stats()["refresh_tokens_issued"][-1]
    requests.post(lc_op.url("/oauth/revoke"), data={"token": rt},
                  auth=(CLIENT, SECRET), timeout=10).raise_for_status()
    _wait_until_due()
    r = _app(s, lc_httpd, headers=API)
    assert r.status_code == 401
    r = _app(s, lc_httpd)
    assert r.status_code == 302 and r.headers["Location"].startswith(lc_op.url("/oauth/authorize"))


@pytest.mark.sanitize
def test_backchannel_logout_from_provider_ends_the_session(lc_httpd, lc_op):
    s = signed_in(lc_httpd, "bcl-user")
    assert _app(s, lc_httpd).status_code == 200
    # The user signs out at the provider; it tells us over the back channel.
    r = s.get(lc_op.url("/oauth/logout"), params={"client_id": CLIENT}, timeout=10)
    form = next(f for f in parse_forms(r.text) if f["fields"].get("xsrf"))
    fields = dict(form["fields"], logout="yes")
    action = form["action"] if form["action"].startswith("http") else lc_op.url(form["action"])
    s.post(action, data=fields, timeout=10, allow_redirects=False)
    # The provider notifies relying parties in the background, right after it answers.
    wait_until(lambda: any("/api/auth/backchannel/coinpay" in line
                           for line in lc_httpd.access_log_lines()),
               timeout=10, what="the provider's back-channel logout request")
    r = _app(s, lc_httpd, headers=API)
    assert r.status_code == 401


def _logout_token(key_file, issuer, claims_extra=None, sign_with=None):
    jwk = json.load(open(key_file))["keys"][0]
    if sign_with is None:
        pub = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"]))
        priv = rsa.RSAPrivateNumbers(_int(jwk["p"]), _int(jwk["q"]), _int(jwk["d"]),
                                     _int(jwk["dp"]), _int(jwk["dq"]), _int(jwk["qi"]), pub)
        sign_with = priv.private_key()
    header = {"alg": "RS256", "typ": "logout+jwt", "kid": jwk.get("kid")}
    now = int(time.time())
    claims = {"iss": issuer, "aud": CLIENT, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4()),
              "sub": "nobody", "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
    claims.update(claims_extra or {})
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    sig = sign_with.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64(sig)


def _post_logout_token(h, token):
    return requests.post(h.url("/api/auth/backchannel/coinpay"), data={"logout_token": token},
                         timeout=10)


@pytest.mark.sanitize
@pytest.mark.allow_log("CPA00183")
def test_replayed_logout_token_is_refused(lc_httpd, lc_op):
    token = _logout_token(lc_op.key_file, lc_op.issuer)
    assert _post_logout_token(lc_httpd, token).status_code == 200
    again = _post_logout_token(lc_httpd, token)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_request"}


@pytest.mark.sanitize
@pytest.mark.allow_log("CPA00181")
def test_logout_token_signed_by_someone_else_or_with_a_nonce_is_refused(lc_httpd, lc_op):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert _post_logout_token(lc_httpd, _logout_token(lc_op.key_file, lc_op.issuer,
                                                      sign_with=other)).status_code == 400
    assert _post_logout_token(lc_httpd, _logout_token(
        lc_op.key_file, lc_op.issuer, {"nonce": "n"})).status_code == 400
    assert _post_logout_token(lc_httpd, _logout_token(
        lc_op.key_file, lc_op.issuer, {"events": {}})).status_code == 400
