"""AuthType coinpay-bearer: Apache as the Paylent resource API, with JWT access tokens issued by
the real OP (RFC 8707 resource indicators) and forged ones it must refuse (RFC 6750 answers)."""
import concurrent.futures
import re

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import signed_in, whoami
from harness import OP, Httpd, coinpay_directives, free_port
from harness.httpd import LOCATIONS
from jwt_util import access_claims, hs256_with, op_signing_key, sign_rs256, unsigned

CLIENT = "paylent-client"
SECRET = "paylent-secret-0123456789"
AUDIENCE = "https://api.example-business.com"

API_LOCATIONS = """
<Location /cgi-bin>
    CoinpayPassAccessToken On
</Location>
<Location /api/profile>
    AuthType coinpay-bearer
    Require coinpay-scope profile
</Location>
<Location /api/documents>
    AuthType coinpay-bearer
    Require coinpay-scope read:documents
</Location>
<Location /api/payments>
    AuthType coinpay-bearer
    Require coinpay-scope payments
</Location>
ScriptAlias /api/cgi/ "{root}/cgi-bin/"
<Location /api/cgi>
    AuthType coinpay-bearer
    Require coinpay-scope profile
</Location>
<Location /api/preflight>
    AuthType coinpay-bearer
    CoinpayBearerPassPreflight On
    Require coinpay-scope profile
</Location>
<Location /api/verified>
    AuthType coinpay-bearer
    Require coinpay-claim email_verified:true
</Location>
"""


@pytest.fixture(scope="module")
def api_port():
    return free_port()


@pytest.fixture(scope="module")
def api_op(api_port, tmp_path_factory):
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [f"http://127.0.0.1:{api_port}/api/auth/callback/coinpay"]}
    o = OP([client], workdir=str(tmp_path_factory.mktemp("api-op")), quiet=True)
    o.start()
    yield o
    o.cleanup()


@pytest.fixture(scope="module")
def api(api_op, api_port):
    coinpay = coinpay_directives(
        api_op.issuer, CLIENT, SECRET, f"http://127.0.0.1:{api_port}/api/auth/callback/coinpay",
        passphrase=PASSPHRASE, scope="openid email profile offline_access read:documents",
        extra=f"CoinpayResource {AUDIENCE}\nCoinpayBearerAudience {AUDIENCE}\n"
              "CoinpayJWKSRefetchInterval 300")
    h = Httpd(api_port, coinpay=coinpay, locations=LOCATIONS)
    h.extra_conf = API_LOCATIONS.replace("{root}", h.root)
    _HTTPDS.append(h)
    start_checked(h)
    for rel in ("profile", "documents", "payments", "verified", "preflight"):
        path = f"{h.root}/htdocs/api/{rel}"
        import os
        os.makedirs(path, exist_ok=True)
        with open(f"{path}/index.json", "w") as f:
            f.write('{"%s": "ok"}\n' % rel)
        os.chmod(f"{h.root}/htdocs/api", 0o755)
        os.chmod(path, 0o755)
        os.chmod(f"{path}/index.json", 0o644)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


@pytest.fixture(scope="module")
def provider_token(api):
    """A real JWT access token from the OP, for AUDIENCE, as the signed-in client sees it."""
    s = signed_in(api, "dana")
    r, env = whoami(s, api)
    assert r.status_code == 200
    token = env["COINPAY_ACCESS_TOKEN"]
    assert token.count(".") == 2, "the OP should issue a JWT access token for the resource"
    return token


def _get(api, path, token=None, headers=None):
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    return requests.get(api.url(path + "/index.json"), headers=h, allow_redirects=False,
                        timeout=10)


def _challenge(r):
    return dict(re.findall(r'(\w+)="([^"]*)"', r.headers.get("WWW-Authenticate", "")))


@pytest.mark.sanitize
def test_provider_token_is_accepted_on_routes_its_scopes_allow(api, provider_token):
    assert _get(api, "/api/profile", provider_token).json() == {"profile": "ok"}
    assert _get(api, "/api/documents", provider_token).json() == {"documents": "ok"}


@pytest.mark.sanitize
def test_token_without_the_route_scope_gets_403_insufficient_scope(api, provider_token):
    r = _get(api, "/api/payments", provider_token)
    assert r.status_code == 403
    c = _challenge(r)
    assert r.headers["WWW-Authenticate"].startswith("Bearer ")
    assert c["error"] == "insufficient_scope" and c["scope"] == "payments"
    assert provider_token not in r.text


@pytest.mark.sanitize
def test_request_without_token_gets_401_with_a_bare_bearer_challenge(api):
    r = _get(api, "/api/profile")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.sanitize
@pytest.mark.parametrize("defect", ["expired", "wrong_audience", "wrong_issuer", "no_exp",
                                    "not_yet_valid", "stranger_key", "alg_none", "hs256_public",
                                    "bad_signature"])
def test_forged_or_unfit_tokens_get_401_invalid_token(api, api_op, defect):
    key, kid = op_signing_key(api_op.key_file)
    claims = access_claims(api_op.issuer, AUDIENCE)
    if defect == "expired":
        claims.update(exp=claims["iat"] - 3600)
    elif defect == "wrong_audience":
        claims.update(aud="https://other-api.example")
    elif defect == "wrong_issuer":
        claims.update(iss="https://evil.example")
    elif defect == "no_exp":
        del claims["exp"]
    elif defect == "not_yet_valid":
        claims.update(nbf=claims["iat"] + 3600)
    token = sign_rs256(claims, key, kid)
    if defect == "stranger_key":
        token = sign_rs256(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048),
                           kid)
    elif defect == "alg_none":
        token = unsigned(claims)
    elif defect == "hs256_public":
        pem = key.public_key().public_bytes(
            encoding=__import__("cryptography.hazmat.primitives.serialization",
                                fromlist=["Encoding"]).Encoding.PEM,
            format=__import__("cryptography.hazmat.primitives.serialization",
                              fromlist=["PublicFormat"]).PublicFormat.SubjectPublicKeyInfo)
        token = hs256_with(pem, claims, kid)
    elif defect == "bad_signature":
        token = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    r = _get(api, "/api/profile", token)
    assert r.status_code == 401, r.text
    c = _challenge(r)
    assert c["error"] == "invalid_token" and c["realm"] == "api" and c["error_description"]
    assert token not in r.text and token not in r.headers["WWW-Authenticate"]


@pytest.mark.sanitize
def test_malformed_authorization_header_gets_400_invalid_request(api):
    r = requests.get(api.url("/api/profile/index.json"),
                     headers={"Authorization": "Bearer a b\tc"}, timeout=10)
    assert r.status_code == 400
    assert _challenge(r)["error"] == "invalid_request"


@pytest.mark.sanitize
def test_claim_rule_checks_nested_values(api, api_op):
    key, kid = op_signing_key(api_op.key_file)
    good = sign_rs256(access_claims(api_op.issuer, [AUDIENCE, "x"], email_verified=True), key, kid)
    bad = sign_rs256(access_claims(api_op.issuer, AUDIENCE, email_verified=False), key, kid)
    assert _get(api, "/api/verified", good).status_code == 200
    assert _get(api, "/api/verified", bad).status_code == 403


@pytest.mark.sanitize
def test_flood_of_unknown_kid_tokens_refetches_the_keys_at_most_once(api, api_op):
    key, _ = op_signing_key(api_op.key_file)
    before = api_op.stats()["jwks_fetches"]

    def one(i):
        token = sign_rs256(access_claims(api_op.issuer, AUDIENCE), key, f"random-kid-{i}")
        return _get(api, "/api/profile", token).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        codes = list(pool.map(one, range(64)))
    assert set(codes) == {401}
    # At most one refetch per process (the interval is 300 s); the test httpd runs up to 2.
    assert api_op.stats()["jwks_fetches"] - before <= 2


def test_api_backend_sees_the_token_user_and_never_spoofed_claim_headers(api, provider_token):
    r = requests.get(api.url("/api/cgi/whoami"),
                     headers={"Authorization": f"Bearer {provider_token}",
                              "Coinpay-Claim-Email": "evil@example.com",
                              "COINPAY_CLAIM_sub": "root", "Remote-User": "root"},
                     timeout=10, allow_redirects=False)
    assert r.status_code == 200
    assert "REMOTE_USER=dana" in r.text
    assert "AUTH_TYPE=coinpay-bearer" in r.text
    assert "COINPAY_CLAIM_sub=dana" in r.text
    assert "evil@example.com" not in r.text and "=root" not in r.text


def test_apachectl_t_refuses_a_bearer_api_without_an_audience():
    h = Httpd(free_port(), coinpay="CoinpayIssuer https://coinpayportal.com", locations="")
    h.extra_conf = """
CoinpayIssuer https://coinpayportal.com
<Location /api>
    AuthType coinpay-bearer
    Require coinpay-scope read:documents
</Location>
"""
    try:
        rc, out = h.configtest()
    finally:
        h.cleanup()
    assert rc != 0
    assert "CoinpayBearerAudience" in out and "CoinpayBearerAnyAudience On" in out


def test_cors_preflight_passes_only_where_allowed_and_the_real_request_still_needs_a_token(api):
    preflight = {"Origin": "https://app.example-business.com",
                 "Access-Control-Request-Method": "GET"}
    allowed = requests.options(api.url("/api/preflight/index.json"), headers=preflight, timeout=10)
    assert allowed.status_code != 401 and allowed.status_code < 500
    assert requests.options(api.url("/api/profile/index.json"), headers=preflight,
                            timeout=10).status_code == 401
    assert _get(api, "/api/preflight").status_code == 401
