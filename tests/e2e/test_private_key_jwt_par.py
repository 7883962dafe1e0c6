"""private_key_jwt (RFC 7523) and pushed authorization requests (RFC 9126) against the real OP.

The OP (oidc-provider, started with --par) knows the client as a private_key_jwt client whose
keys it reads from the module's own `SetHandler coinpay-jwks` URL, so a passing sign-in proves
the handler, the assertion and PAR together. The OP's /__test/stats says which endpoint saw a
client assertion, how many requests were pushed, and which parameters each authorization
request carried in the browser's URL.
"""
import json
import os
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import PASSPHRASE, start_checked, _HTTPDS
from e2e_util import BROWSER
from harness import OP, Httpd, free_port, login
from harness.httpd import LOCATIONS

CLIENT = "pkj"            # private_key_jwt client, keys from the module's coinpay-jwks URL
WRONG_CLIENT = "pkj-wrong"  # private_key_jwt client registered with another key
JWKS_PATH = "/.well-known/coinpay-jwks"
TTL = 3  # access tokens live 3 s so a refresh falls due quickly

JWKS_LOCATION = f"""
<Location {JWKS_PATH}>
    SetHandler coinpay-jwks
    Require all granted
</Location>
"""


def _b64(n, size):
    import base64
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def _pem(key, traditional=False):
    fmt = (serialization.PrivateFormat.TraditionalOpenSSL if traditional
           else serialization.PrivateFormat.PKCS8)
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def _ec_public_jwk(key, kid):
    nums = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": _b64(nums.x, 32), "y": _b64(nums.y, 32),
            "kid": kid, "alg": "ES256", "use": "sig"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """The site's signing key (EC P-256), a second key announced for rotation (RSA), and a
    key the OP has for the 'wrong' client, which the site never has."""
    d = tmp_path_factory.mktemp("pkj-keys")
    signer = ec.generate_private_key(ec.SECP256R1())
    next_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = ec.generate_private_key(ec.SECP256R1())
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    paths = {}
    for name, key, trad in (("signer", signer, False), ("next", next_key, True),
                            ("other", other, False), ("weak", weak, False)):
        p = d / f"{name}.pem"
        p.write_bytes(_pem(key, trad))
        os.chmod(p, 0o644)  # httpd's config reader runs as this test's user
        paths[name] = str(p)
    return {"signer": signer, "next": next_key, "other": other, "paths": paths, "dir": d}


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def par_op(port, keys, tmp_path_factory):
    base = f"http://127.0.0.1:{port}"
    common = {"redirect_uris": [base + "/api/auth/callback/coinpay"],
              "token_endpoint_auth_method": "private_key_jwt",
              "grant_types": ["authorization_code", "refresh_token"]}
    clients = [
        {"client_id": CLIENT, "jwks_uri": base + JWKS_PATH, **common},
        {"client_id": WRONG_CLIENT,
         "jwks": {"keys": [_ec_public_jwk(keys["other"], "other")]}, **common},
    ]
    o = OP(clients, par=True, access_token_ttl=TTL,
           workdir=str(tmp_path_factory.mktemp("pkj-op")), quiet=False)
    o.start()
    yield o
    o.cleanup()


def _coinpay(issuer, port, client_id, key_lines, par="auto", extra=""):
    return "\n".join([
        f"CoinpayIssuer {issuer}",
        f"CoinpayClientID {client_id}",
        f"CoinpayRedirectURI http://127.0.0.1:{port}/api/auth/callback/coinpay",
        'CoinpayScope "openid email profile offline_access"',
        f"CoinpayCryptoPassphrase {PASSPHRASE}",
        "CoinpayTokenEndpointAuth private_key_jwt",
        *key_lines,
        f"CoinpayPushedAuthorization {par}",
        extra,
    ])


def _httpd(port, coinpay, locations=LOCATIONS + JWKS_LOCATION):
    h = Httpd(port, coinpay=coinpay, locations=locations)
    _HTTPDS.append(h)
    return h


@pytest.fixture(scope="module")
def pkj_httpd(par_op, port, keys):
    extra = "CoinpayRefreshBeforeExpiry 1\n<Location />\n    CoinpayRefresh always\n</Location>"
    h = _httpd(port, _coinpay(par_op.issuer, port, CLIENT,
                              [f"CoinpayPrivateKeyFile {keys['paths']['signer']} site-2026",
                               f'CoinpayPrivateKeyFile {keys["paths"]["next"]} "" PS256'],
                              extra=extra))
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


def _browser_authorize_urls(trace, op):
    return [url for method, url, _ in trace if url.startswith(op.url("/oauth/authorize"))]


@pytest.mark.sanitize
def test_sign_in_pushes_the_request_and_authenticates_with_a_signed_assertion(pkj_httpd, par_op):
    par_op.reset_stats()
    s = requests.Session()
    trace = []
    r = login(s, pkj_httpd.base_url, "payer", trace=trace)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert s.cookies.get("coinpay_session")
    st = par_op.stats()
    # The authorization request was pushed, with a client assertion, and so was the code.
    assert st["par_calls"] == 1 and st["par_errors"] == 0, st
    assert st["client_assertions"].get("pushed_authorization_request") == 1, st
    assert st["client_assertions"].get("token") == 1, st
    assert st["token_errors"] == {} and st["client_auth_errors"] == {}, st
    # The browser's authorization URL carried only client_id and request_uri.
    assert st["authorize_param_names"][0] == ["client_id", "request_uri"], st
    first = _browser_authorize_urls(trace, par_op)[0]
    q = requests.utils.urlparse(first).query
    assert sorted(p.split("=")[0] for p in q.split("&")) == ["client_id", "request_uri"], first
    assert "code_challenge" not in first and "state=" not in first and "redirect_uri" not in first
    # The OP read our public keys from the module's coinpay-jwks handler.
    assert any(JWKS_PATH in line for line in pkj_httpd.access_log_lines())


@pytest.mark.sanitize
def test_refresh_authenticates_with_a_fresh_assertion(pkj_httpd, par_op):
    s = requests.Session()
    assert login(s, pkj_httpd.base_url, "refresher").status_code == 200
    par_op.reset_stats()
    time.sleep(TTL - 1 + 0.3)  # the access token falls due (refreshed 1 s before expiry)
    r = s.get(pkj_httpd.url("/app/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    st = par_op.stats()
    assert st["token_calls"].get("refresh_token") == 1, st
    assert st["client_assertions"].get("token") == 1, st
    assert st["token_errors"] == {}, st


def test_jwks_handler_publishes_every_configured_public_key(pkj_httpd, keys):
    r = requests.get(pkj_httpd.url(JWKS_PATH), timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/jwk-set+json")
    doc = r.json()
    assert [k["kid"] for k in doc["keys"]][0] == "site-2026"
    assert len(doc["keys"]) == 2
    ec_jwk, rsa_jwk = doc["keys"]
    assert {k: ec_jwk[k] for k in ("kty", "crv", "x", "y", "alg", "use")} == {
        k: v for k, v in _ec_public_jwk(keys["signer"], "site-2026").items() if k != "kid"}
    nums = keys["next"].public_key().public_numbers()
    assert rsa_jwk["kty"] == "RSA" and rsa_jwk["alg"] == "PS256" and rsa_jwk["use"] == "sig"
    assert rsa_jwk["n"] == _b64(nums.n, 256) and rsa_jwk["e"] == "AQAB"
    assert len(rsa_jwk["kid"]) == 43  # kid "": the RFC 7638 thumbprint
    for k in doc["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(k), k


def test_jwks_handler_answers_only_get(pkj_httpd):
    r = requests.post(pkj_httpd.url(JWKS_PATH), data="x", timeout=5)
    assert r.status_code == 405
    assert "GET" in r.headers.get("Allow", "")


@pytest.mark.allow_log("CPA00401")
def test_a_key_the_provider_does_not_know_fails_the_sign_in_with_a_page(par_op, keys):
    port = free_port()
    h = _httpd(port, _coinpay(par_op.issuer, port, WRONG_CLIENT,
                              [f"CoinpayPrivateKeyFile {keys['paths']['signer']} site-2026"]))
    h.per_test = True
    start_checked(h)
    par_op.reset_stats()
    r = requests.get(h.url("/api/auth/login/coinpay?return_to=/app/"), headers=BROWSER,
                     allow_redirects=False, timeout=15)
    assert r.status_code == 502
    assert "Sign-in is unavailable" in r.text
    assert "invalid_client" not in r.text and "coinpay_login_" not in r.headers.get("Set-Cookie", "")
    st = par_op.stats()
    assert st["client_auth_errors"].get("pushed_authorization_request") == 1, st
    assert st["authorize_calls"] == 0, st
    lines = [l for l in h.module_log_lines() if "CPA00401" in l]
    assert lines and "invalid_client" in lines[0], h.module_log_lines()
    status = requests.get(h.url("/api/auth/login/coinpay"), headers=BROWSER,
                          allow_redirects=False, timeout=15)
    assert status.status_code == 502


@pytest.mark.allow_log("CPA00404")
def test_par_on_without_the_providers_endpoint_refuses_sign_in(keys, tmp_path_factory):
    port = free_port()
    op = OP([{"client_id": CLIENT, "redirect_uris": [f"http://127.0.0.1:{port}/cb"],
              "token_endpoint_auth_method": "private_key_jwt",
              "jwks": {"keys": [_ec_public_jwk(keys["signer"], "site-2026")]}}],
            workdir=str(tmp_path_factory.mktemp("nopar-op")), quiet=True)
    op.start()
    try:
        assert "pushed_authorization_request_endpoint" not in op.discovery()
        h = _httpd(port, _coinpay(op.issuer, port, CLIENT,
                                  [f"CoinpayPrivateKeyFile {keys['paths']['signer']} site-2026"],
                                  par="on"))
        h.per_test = True
        start_checked(h)
        r = requests.get(h.url("/api/auth/login/coinpay"), headers=BROWSER,
                         allow_redirects=False, timeout=15)
        assert r.status_code == 500
        assert "Sign-in is misconfigured" in r.text
        assert any("CPA00404" in l and "pushed_authorization_request_endpoint" in l
                   for l in h.module_log_lines())
        assert op.stats()["authorize_calls"] == 0
    finally:
        op.cleanup()


# --- apachectl -t -----------------------------------------------------------------------------

def _configtest(coinpay, tmp_path):
    h = Httpd(free_port(), coinpay=coinpay, locations=LOCATIONS + JWKS_LOCATION,
              root=str(tmp_path))
    return h.configtest()


def test_apachectl_t_accepts_private_key_jwt_with_a_key(keys, tmp_path):
    rc, out = _configtest(_coinpay("https://coinpayportal.com", 8443, CLIENT,
                                   [f"CoinpayPrivateKeyFile {keys['paths']['signer']}"]),
                          tmp_path)
    assert rc == 0, out


def test_apachectl_t_refuses_private_key_jwt_without_a_key(tmp_path):
    rc, out = _configtest(_coinpay("https://coinpayportal.com", 8443, CLIENT, []), tmp_path)
    assert rc != 0
    assert "CoinpayTokenEndpointAuth private_key_jwt needs a key: add CoinpayPrivateKeyFile" in out


def test_apachectl_t_refuses_an_unreadable_key_file(keys, tmp_path):
    missing = str(keys["dir"] / "missing.pem")
    rc, out = _configtest(_coinpay("https://coinpayportal.com", 8443, CLIENT,
                                   [f"CoinpayPrivateKeyFile {missing}"]), tmp_path)
    assert rc != 0
    assert "CoinpayPrivateKeyFile cannot read " + missing in out, out


def test_apachectl_t_refuses_a_file_that_is_not_a_private_key(keys, tmp_path):
    pub = keys["dir"] / "public.pem"
    pub.write_bytes(keys["signer"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    rc, out = _configtest(_coinpay("https://coinpayportal.com", 8443, CLIENT,
                                   [f"CoinpayPrivateKeyFile {pub}"]), tmp_path)
    assert rc != 0
    assert "CoinpayPrivateKeyFile cannot use this key: not a PEM private key" in out, out
    assert "BEGIN PUBLIC KEY" not in out


def test_apachectl_t_refuses_a_weak_rsa_key_and_names_the_fix(keys, tmp_path):
    rc, out = _configtest(_coinpay("https://coinpayportal.com", 8443, CLIENT,
                                   [f"CoinpayPrivateKeyFile {keys['paths']['weak']}"]), tmp_path)
    assert rc != 0
    assert "1024 bits, too weak: use at least 2048" in out, out
    assert "PRIVATE KEY" not in out


def test_apachectl_t_refuses_an_alg_that_does_not_fit_the_key(keys, tmp_path):
    rc, out = _configtest(_coinpay("https://coinpayportal.com", 8443, CLIENT,
                                   [f"CoinpayPrivateKeyFile {keys['paths']['signer']} k RS256"]),
                          tmp_path)
    assert rc != 0
    assert "alg RS256 does not fit an EC P-256 key: use ES256" in out, out


def test_apachectl_t_refuses_a_left_over_client_secret(keys, tmp_path):
    rc, out = _configtest(_coinpay("https://coinpayportal.com", 8443, CLIENT,
                                   [f"CoinpayPrivateKeyFile {keys['paths']['signer']}",
                                    "CoinpayClientSecret old-secret-0123456789"]), tmp_path)
    assert rc != 0
    assert "remove CoinpayClientSecret" in out and "old-secret-0123456789" not in out, out
