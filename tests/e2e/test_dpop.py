"""DPoP (RFC 9449) end to end against the real OP (oidc-provider 9, whose DPoP support binds a
token to the key of the proof that came with the token request):

- the module as a DPoP client (CoinpayDPoP required): sign-in and refresh with proofs by the
  session's own key, the OP's DPoP-Nonce followed, the application given the token type and
  proofs from SetHandler coinpay-dpop-proof;
- the module as a resource server (CoinpayBearerDPoP): an OP-issued DPoP-bound token with a
  proof made here is accepted, and refused without a proof, with a replayed one, with one for
  another URL, and as a plain Bearer token, each with the RFC 9449 challenge.
"""
import base64
import hashlib
import json
import os
import re
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import signed_in, whoami
from harness import OP, Httpd, coinpay_directives, free_port
from harness.httpd import LOCATIONS

CLIENT = "dpop-rp"
SECRET = "dpop-rp-secret-0123456789"
API_CALLER = "dpop-api-caller"
API_CALLER_SECRET = "dpop-api-caller-secret-0123456789"
AUDIENCE = "https://payments.example-business.com"

DPOP_LOCATIONS = """
<Location /cgi-bin>
    CoinpayPassAccessToken On
</Location>
<Location /coinpay/dpop-proof>
    SetHandler coinpay-dpop-proof
    Require ip 127.0.0.1
</Location>
<Location /api/payments>
    AuthType coinpay-bearer
    CoinpayBearerDPoP required
    Require valid-user
</Location>
<Location /api/mixed>
    AuthType coinpay-bearer
    CoinpayBearerDPoP allowed
    Require valid-user
</Location>
<Location /api/ledger>
    AuthType coinpay-bearer
    CoinpayBearerDPoP required
    Require coinpay-scope read:ledger
</Location>
"""


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(jwt):
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class DPoPKey:
    """A P-256 key of the test's own, making RFC 9449 proofs."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        nums = self.key.public_key().public_numbers()
        self.jwk = {"kty": "EC", "crv": "P-256", "x": b64(nums.x.to_bytes(32, "big")),
                    "y": b64(nums.y.to_bytes(32, "big"))}

    def thumbprint(self):
        canonical = json.dumps({k: self.jwk[k] for k in ("crv", "kty", "x", "y")},
                               separators=(",", ":"), sort_keys=True)
        return b64(hashlib.sha256(canonical.encode()).digest())

    def proof(self, htm, htu, access_token=None, nonce=None, iat=None):
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk}
        claims = {"jti": str(uuid.uuid4()), "htm": htm, "htu": htu,
                  "iat": int(time.time()) if iat is None else iat}
        if access_token is not None:
            claims["ath"] = b64(hashlib.sha256(access_token.encode()).digest())
        if nonce is not None:
            claims["nonce"] = nonce
        signing_input = (b64(json.dumps(header).encode()) + "." +
                         b64(json.dumps(claims).encode()))
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(),
                                                  ec.ECDSA(hashes.SHA256())))
        return signing_input + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def challenges(r):
    """Every WWW-Authenticate challenge, by scheme: {"DPoP": {"error": ...}, "Bearer": {...}}."""
    out = {}
    raw = r.raw.headers.getlist("WWW-Authenticate") if hasattr(r.raw, "headers") else []
    for value in raw:
        scheme = value.split(" ", 1)[0]
        out[scheme] = dict(re.findall(r'(\w+)="([^"]*)"', value))
    return out


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def dpop_op(port, tmp_path_factory):
    clients = [
        {"client_id": CLIENT, "client_secret": SECRET,
         "redirect_uris": [f"http://127.0.0.1:{port}/api/auth/callback/coinpay"]},
        {"client_id": API_CALLER, "client_secret": API_CALLER_SECRET,
         "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": []},
    ]
    # Access tokens of 4 s: a session's token is due for refresh half-way through its life
    # (the module never refreshes earlier), 2 s after it was issued.
    o = OP(clients, workdir=str(tmp_path_factory.mktemp("dpop-op")), quiet=True,
           client_credentials=True, access_token_ttl=4)
    o.start()
    yield o
    o.cleanup()


def _serve_api_files(h):
    for rel in ("payments", "mixed", "ledger"):
        path = f"{h.root}/htdocs/api/{rel}"
        os.makedirs(path, exist_ok=True)
        with open(f"{path}/index.json", "w") as f:
            f.write('{"%s": "ok"}\n' % rel)
        for p in (f"{h.root}/htdocs/api", path):
            os.chmod(p, 0o755)
        os.chmod(f"{path}/index.json", 0o644)


@pytest.fixture(scope="module")
def site(dpop_op, port):
    coinpay = coinpay_directives(
        dpop_op.issuer, CLIENT, SECRET, f"http://127.0.0.1:{port}/api/auth/callback/coinpay",
        passphrase=PASSPHRASE, scope="openid email profile offline_access payments",
        extra=f"CoinpayDPoP required\nCoinpayResource {AUDIENCE}\n"
              f"CoinpayBearerAudience {AUDIENCE}\n"
              # The tests' own requests come from 127.0.0.1: with X-Forwarded-* they act as
              # a TLS-terminating proxy in front of the API.
              "CoinpayTrustedProxy 127.0.0.1")
    h = Httpd(port, coinpay=coinpay, locations=LOCATIONS, extra_conf=DPOP_LOCATIONS)
    _serve_api_files(h)
    _HTTPDS.append(h)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


@pytest.fixture(scope="module")
def caller_key():
    return DPoPKey()


@pytest.fixture
def caller_token(dpop_op, caller_key):
    """A DPoP-bound JWT access token the OP issued to a client of its own (client_credentials)
    for AUDIENCE, bound to caller_key by the proof sent with the token request."""
    url = dpop_op.url("/oauth/token")
    r = requests.post(url, data={"grant_type": "client_credentials", "resource": AUDIENCE},
                      auth=(API_CALLER, API_CALLER_SECRET),
                      headers={"DPoP": caller_key.proof("POST", url)}, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"]["jkt"] == caller_key.thumbprint()
    return body["access_token"]


def _api(site, path, token, proof=None, scheme="DPoP", query=""):
    headers = {"Authorization": f"{scheme} {token}"} if token else {}
    if proof is not None:
        headers["DPoP"] = proof
    return requests.get(site.url(path) + query, headers=headers, allow_redirects=False,
                        timeout=10)


PAYMENTS = "/api/payments/index.json"


# --- the module as a DPoP client --------------------------------------------------------------

@pytest.mark.sanitize
def test_sign_in_with_dpop_required_gets_a_token_bound_to_the_session_key(site, dpop_op):
    dpop_op.reset_stats()
    s = signed_in(site, "erin")
    r, env = whoami(s, site)
    assert r.status_code == 200
    assert env["COINPAY_ACCESS_TOKEN_TYPE"] == "DPoP"
    token = env["COINPAY_ACCESS_TOKEN"]
    jkt = claims_of(token)["cnf"]["jkt"]
    assert len(jkt) == 43
    stats = dpop_op.stats()
    assert stats["token_calls"]["authorization_code"] == 1
    assert stats["dpop_token_calls"] >= 1
    assert stats["token_types"].get("DPoP", 0) >= 1
    assert stats["token_types"].get("Bearer", 0) == 0
    # The OP signed cnf.jkt into the JWT: the module's API accepts it as the OP's (and the
    # proof handler test shows the module holds the matching key).


@pytest.mark.sanitize
def test_application_gets_proofs_from_the_handler_and_calls_a_dpop_api(site):
    s = signed_in(site, "fay")
    _, env = whoami(s, site)
    token = env["COINPAY_ACCESS_TOKEN"]
    handle = env["COINPAY_ACCESS_TOKEN_DPOP_HANDLE"]
    api_url = site.url(PAYMENTS)
    # The application (no browser cookie: the handle is what names the session).
    r = requests.post(site.url("/coinpay/dpop-proof"),
                      data={"handle": handle, "htm": "GET", "htu": api_url}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    answer = r.json()
    assert answer["token_type"] == "DPoP"
    proof = answer["proof"]
    assert _api(site, PAYMENTS, token, proof).json() == {"payments": "ok"}
    # A proof is good once.
    again = _api(site, PAYMENTS, token, proof)
    assert again.status_code == 401
    assert challenges(again)["DPoP"]["error"] == "invalid_dpop_proof"
    # Only POST; a forged handle gets nothing.
    assert requests.get(site.url("/coinpay/dpop-proof"), timeout=10).status_code == 405
    forged = requests.post(site.url("/coinpay/dpop-proof"),
                           data={"handle": handle[:-4] + "AAAA", "htm": "GET", "htu": api_url},
                           timeout=10)
    assert forged.status_code == 403
    assert "proof" not in forged.text


def test_refresh_sends_a_proof_and_the_new_token_stays_bound(site, dpop_op):
    s = signed_in(site, "gus")
    _, env = whoami(s, site)
    first = env["COINPAY_ACCESS_TOKEN"]
    dpop_op.reset_stats()
    time.sleep(2.5)  # past half of the token's 4 s: due for refresh
    r, env = whoami(s, site)
    assert r.status_code == 200
    second = env["COINPAY_ACCESS_TOKEN"]
    assert second != first
    assert env["COINPAY_ACCESS_TOKEN_TYPE"] == "DPoP"
    assert claims_of(second)["cnf"]["jkt"] == claims_of(first)["cnf"]["jkt"]
    stats = dpop_op.stats()
    assert stats["token_calls"].get("refresh_token", 0) >= 1
    assert stats["dpop_token_calls"] == sum(stats["token_calls"].values())
    assert stats["token_types"].get("DPoP", 0) >= 1
    assert stats["token_types"].get("Bearer", 0) == 0


def test_dpop_nonce_demanded_by_the_op_is_followed(tmp_path):
    port = free_port()
    op = OP([{"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [f"http://127.0.0.1:{port}/api/auth/callback/coinpay"]}],
            workdir=str(tmp_path), quiet=True, dpop_require_nonce=True)
    op.start()
    h = None
    try:
        # No CoinpayResource: the token is opaque and userinfo is read with it (and a proof).
        coinpay = coinpay_directives(op.issuer, CLIENT, SECRET,
                                     f"http://127.0.0.1:{port}/api/auth/callback/coinpay",
                                     passphrase=PASSPHRASE,
                                     extra=f"CoinpayDPoP required\nCoinpayBearerAudience {AUDIENCE}")
        h = Httpd(port, coinpay=coinpay, locations=LOCATIONS, extra_conf=DPOP_LOCATIONS)
        h.per_test = True  # the error-log guard checks its log, then removes it
        _HTTPDS.append(h)
        start_checked(h)
        s = signed_in(h, "hal")
        r, env = whoami(s, h)
        assert r.status_code == 200
        assert env["COINPAY_ACCESS_TOKEN_TYPE"] == "DPoP"
        assert env["REMOTE_USER"] == "hal"
        stats = op.stats()
        # Refused once for want of a nonce (use_dpop_nonce), then answered with it.
        assert stats["token_calls"]["authorization_code"] == 2
        assert stats["token_errors"]["authorization_code"] == 1
        assert stats["token_types"] == {"DPoP": 1}
        assert stats["userinfo_calls"] == 1 and stats["userinfo_errors"] == 0
        info = op.introspect(env["COINPAY_ACCESS_TOKEN"], CLIENT, SECRET)
        assert info["token_type"] == "DPoP" and info["cnf"]["jkt"]
    finally:
        op.cleanup()


# --- the module as a resource server ----------------------------------------------------------

@pytest.mark.sanitize
def test_api_accepts_an_op_issued_bound_token_with_a_proof(site, caller_key, caller_token):
    url = site.url(PAYMENTS)
    r = _api(site, PAYMENTS, caller_token, caller_key.proof("GET", url, caller_token))
    assert r.status_code == 200, r.headers.get("WWW-Authenticate")
    assert r.json() == {"payments": "ok"}
    # The query is no part of htu.
    r = _api(site, PAYMENTS, caller_token, caller_key.proof("GET", url, caller_token),
             query="?page=2")
    assert r.status_code == 200


@pytest.mark.sanitize
def test_api_refuses_the_bound_token_without_a_proof(site, caller_token):
    r = _api(site, PAYMENTS, caller_token)
    assert r.status_code == 401
    c = challenges(r)
    assert set(c) == {"DPoP"}
    assert c["DPoP"]["error"] == "invalid_dpop_proof"
    assert c["DPoP"]["algs"] == "ES256 PS256 EdDSA"
    assert caller_token not in r.text


def test_api_refuses_a_replayed_proof(site, caller_key, caller_token):
    proof = caller_key.proof("GET", site.url(PAYMENTS), caller_token)
    assert _api(site, PAYMENTS, caller_token, proof).status_code == 200
    r = _api(site, PAYMENTS, caller_token, proof)
    assert r.status_code == 401
    assert challenges(r)["DPoP"]["error"] == "invalid_dpop_proof"
    assert challenges(r)["DPoP"]["error_description"] == "The DPoP proof was used before"


def test_api_refuses_a_proof_for_another_url_method_token_or_time(site, caller_key,
                                                                  caller_token):
    url = site.url(PAYMENTS)
    for proof in (caller_key.proof("GET", site.url("/api/mixed/index.json"), caller_token),
                  caller_key.proof("POST", url, caller_token),
                  caller_key.proof("GET", url, caller_token + "x"),
                  caller_key.proof("GET", url, caller_token, iat=int(time.time()) - 600),
                  DPoPKey().proof("GET", url, caller_token)):
        r = _api(site, PAYMENTS, caller_token, proof)
        assert r.status_code == 401
        assert challenges(r)["DPoP"]["error"] == "invalid_dpop_proof"


def test_api_refuses_the_bound_token_as_plain_bearer(site, caller_key, caller_token):
    proof = caller_key.proof("GET", site.url("/api/mixed/index.json"), caller_token)
    r = _api(site, "/api/mixed/index.json", caller_token, proof, scheme="Bearer")
    assert r.status_code == 401
    c = challenges(r)
    assert set(c) == {"Bearer", "DPoP"}  # CoinpayBearerDPoP allowed: both schemes offered
    assert c["Bearer"]["error"] == "invalid_token"
    assert c["Bearer"]["error_description"] == "A DPoP-bound access token needs its DPoP proof"
    r = _api(site, PAYMENTS, caller_token, scheme="Bearer")
    assert r.status_code == 401
    assert challenges(r)["DPoP"]["error"] == "invalid_token"


def test_allowed_location_takes_the_bound_token_with_its_proof(site, caller_key, caller_token):
    path = "/api/mixed/index.json"
    r = _api(site, path, caller_token, caller_key.proof("GET", site.url(path), caller_token))
    assert r.status_code == 200
    r = _api(site, path, None)
    assert r.status_code == 401
    assert set(challenges(r)) == {"Bearer", "DPoP"}


def test_missing_scope_is_answered_in_the_dpop_scheme(site, caller_key, caller_token):
    path = "/api/ledger/index.json"
    r = _api(site, path, caller_token, caller_key.proof("GET", site.url(path), caller_token))
    assert r.status_code == 403
    c = challenges(r)
    assert set(c) == {"DPoP"}
    assert c["DPoP"]["error"] == "insufficient_scope"
    assert c["DPoP"]["scope"] == "read:ledger"


def test_behind_a_trusted_proxy_htu_is_the_public_url(site, caller_key, caller_token):
    public = "https://pay.example-business.com" + PAYMENTS
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pay.example-business.com"}
    for proof_url, status in ((public, 200), (site.url(PAYMENTS), 401)):
        headers = {"Authorization": f"DPoP {caller_token}",
                   "DPoP": caller_key.proof("GET", proof_url, caller_token), **forwarded}
        r = requests.get(site.url(PAYMENTS), headers=headers, allow_redirects=False, timeout=10)
        assert r.status_code == status, (proof_url, r.headers.get("WWW-Authenticate"))
