"""CoinpaySecurityProfile fapi2 end to end against the real OP (oidc-provider with PAR and DPoP).

The site says only `CoinpaySecurityProfile fapi2` and names its EC key: the profile turns on
private_key_jwt, PAR, DPoP-bound tokens, the required `iss` authorization response parameter and
ES256/PS256 only. The OP signs its ID tokens with an ES256 key (a fapi2 site refuses RS256),
reads the site's public key from its `SetHandler coinpay-jwks`, and its /__test/stats says what
reached it. A bearer location in the fapi2 site takes only DPoP-bound tokens with proofs though
it says nothing about DPoP.
"""
import base64
import json
import os

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import PASSPHRASE, start_checked, _HTTPDS
from harness import OP, Httpd, free_port, login
from harness.httpd import LOCATIONS

CLIENT = "fapi-rp"
JWKS_PATH = "/.well-known/coinpay-jwks"
LOCATIONS_FAPI = LOCATIONS + f"""
<Location {JWKS_PATH}>
    SetHandler coinpay-jwks
    Require all granted
</Location>
<Location /fapi-api>
    AuthType coinpay-bearer
    Require valid-user
</Location>
"""


def _b64(n, size):
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def _ec_private_jwk(key, kid):
    priv = key.private_numbers()
    pub = priv.public_numbers
    return {"kty": "EC", "crv": "P-256", "x": _b64(pub.x, 32), "y": _b64(pub.y, 32),
            "d": _b64(priv.private_value, 32), "kid": kid, "alg": "ES256", "use": "sig"}


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def site_key(tmp_path_factory):
    path = tmp_path_factory.mktemp("fapi-key") / "site.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o644)  # httpd's config reader runs as this test's user
    return str(path)


@pytest.fixture(scope="module")
def fapi_op(port, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fapi-op")
    key_file = workdir / "op-es256.json"  # the OP signs ID tokens with ES256
    key_file.write_text(json.dumps(
        {"keys": [_ec_private_jwk(ec.generate_private_key(ec.SECP256R1()), "op-es256")]}))
    base = f"http://127.0.0.1:{port}"
    client = {"client_id": CLIENT, "jwks_uri": base + JWKS_PATH,
              "redirect_uris": [base + "/api/auth/callback/coinpay"],
              "token_endpoint_auth_method": "private_key_jwt",
              "token_endpoint_auth_signing_alg": "ES256",
              "id_token_signed_response_alg": "ES256",
              "dpop_bound_access_tokens": True,
              "grant_types": ["authorization_code", "refresh_token"]}
    o = OP([client], par=True, require_par=True, key_file=str(key_file), workdir=str(workdir),
           quiet=False)
    o.start()
    yield o
    o.cleanup()


def _coinpay(issuer, port, key_path, extra=""):
    return "\n".join([
        f"CoinpayIssuer {issuer}",
        f"CoinpayClientID {CLIENT}",
        f"CoinpayRedirectURI http://127.0.0.1:{port}/api/auth/callback/coinpay",
        f"CoinpayCryptoPassphrase {PASSPHRASE}",
        "CoinpaySecurityProfile fapi2",
        f"CoinpayPrivateKeyFile {key_path} site-fapi",
        "CoinpayBearerAudience https://api.example-business.com",
        extra,
    ])


@pytest.fixture(scope="module")
def fapi_httpd(fapi_op, port, site_key):
    h = Httpd(port, coinpay=_coinpay(fapi_op.issuer, port, site_key), locations=LOCATIONS_FAPI)
    _HTTPDS.append(h)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


@pytest.mark.sanitize
def test_fapi2_sign_in_pushes_the_request_signs_the_client_and_binds_the_token(fapi_httpd,
                                                                                fapi_op):
    fapi_op.reset_stats()
    s = requests.Session()
    trace = []
    r = login(s, fapi_httpd.base_url, "payer", trace=trace)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert s.cookies.get("coinpay_session")
    st = fapi_op.stats()
    # PAR with a client assertion; the browser saw only client_id and request_uri.
    assert st["par_calls"] == 1 and st["par_errors"] == 0, st
    assert st["client_assertions"].get("pushed_authorization_request") == 1, st
    assert st["authorize_param_names"][0] == ["client_id", "request_uri"], st
    # The code went back with a client assertion and a DPoP proof; the token came back bound.
    assert st["client_assertions"].get("token") == 1, st
    assert st["token_calls"]["authorization_code"] == 1, st
    assert st["dpop_token_calls"] >= 1, st
    assert st["token_types"].get("DPoP", 0) == 1 and st["token_types"].get("Bearer", 0) == 0, st
    assert st["token_errors"] == {} and st["client_auth_errors"] == {}, st
    # The OP named itself in the authorization response (RFC 9207), which fapi2 requires.
    callbacks = [url for _, url, _ in trace if "/api/auth/callback/coinpay" in url]
    assert callbacks and "iss=" in callbacks[0], callbacks


def test_fapi2_bearer_location_refuses_a_plain_bearer_token_with_a_dpop_challenge(fapi_httpd):
    r = requests.get(fapi_httpd.url("/fapi-api/"), timeout=10,
                     headers={"Authorization": "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln"})
    assert r.status_code == 401
    challenges = r.headers.get("WWW-Authenticate", "")
    assert challenges.startswith("DPoP "), challenges
    assert 'algs="PS256 ES256"' in challenges, challenges
    assert "Bearer" not in challenges, "fapi2 takes no plain bearer tokens"


@pytest.mark.parametrize("extra, fix", [
    ("CoinpayTokenEndpointAuth client_secret_basic\nCoinpayClientSecret s3cret-s3cret",
     "set CoinpayTokenEndpointAuth private_key_jwt"),
    ("CoinpayPushedAuthorization off", "remove CoinpayPushedAuthorization off"),
    ("CoinpayDPoP on", "set CoinpayDPoP required"),
    ("CoinpaySigningAlgorithms RS256", "FAPI 2.0 allows PS256 and ES256 only"),
])
def test_apachectl_t_refuses_what_fapi2_forbids_naming_the_fix(site_key, extra, fix):
    port = free_port()
    h = Httpd(port, coinpay=_coinpay("https://coinpayportal.com", port, site_key, extra),
              locations=LOCATIONS_FAPI)
    try:
        rc, out = h.configtest()
    finally:
        h.cleanup()
    assert rc != 0
    assert "CoinpaySecurityProfile fapi2" in out and fix in out, out
