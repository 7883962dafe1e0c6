"""EdDSA (RFC 8037, Ed25519) ID tokens, as Glewlwyd signs them: a real OP (oidc-provider) that
publishes an OKP key beside its RSA key and signs this client's ID tokens with EdDSA; and
`apachectl -t`, which takes EdDSA in CoinpayIDTokenAlgorithms."""
import base64
import json

import pytest
import requests

from conftest import CLIENT_ID, CLIENT_SECRET, PASSPHRASE, redirect_uri
from e2e_util import BROWSER, cookies_set, whoami
from harness import OP, Httpd, coinpay_directives, free_port, login

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_int(n):
    return _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def _private_jwks():
    """The OP's key file: an Ed25519 key (used for this client's ID tokens) and an RSA key (which
    oidc-provider signs everything else with)."""
    ed = ed25519.Ed25519PrivateKey.generate()
    raw = serialization.Encoding.Raw
    ed_jwk = {"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "alg": "EdDSA", "use": "sig",
              "x": _b64(ed.public_key().public_bytes(raw, serialization.PublicFormat.Raw)),
              "d": _b64(ed.private_bytes(raw, serialization.PrivateFormat.Raw,
                                         serialization.NoEncryption()))}
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    rsa_jwk = {"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig",
               "n": _b64_int(r.public_numbers.n), "e": _b64_int(r.public_numbers.e),
               "d": _b64_int(r.d), "p": _b64_int(r.p), "q": _b64_int(r.q),
               "dp": _b64_int(r.dmp1), "dq": _b64_int(r.dmq1), "qi": _b64_int(r.iqmp)}
    return {"keys": [ed_jwk, rsa_jwk]}


@pytest.fixture(scope="module")
def eddsa_port():
    return free_port()


@pytest.fixture(scope="module")
def eddsa_op(eddsa_port, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("eddsa-op")
    key_file = workdir / "signing-key.json"
    key_file.write_text(json.dumps(_private_jwks()))
    client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "token_endpoint_auth_method": "client_secret_basic",
              "redirect_uris": [redirect_uri(eddsa_port)],
              "id_token_signed_response_alg": "EdDSA"}
    o = OP([client], workdir=str(workdir), key_file=str(key_file), quiet=True)
    o.start()
    yield o
    o.cleanup()


def _callback(httpd, user):
    s = requests.Session()
    cb = login(s, httpd.base_url, user, stop_at_callback=True)
    return s, s.get(cb, headers=BROWSER, allow_redirects=False)


def test_op_publishes_the_okp_key_and_signs_id_tokens_with_eddsa(eddsa_op):
    assert "EdDSA" in eddsa_op.discovery()["id_token_signing_alg_values_supported"]
    keys = requests.get(eddsa_op.url("/.well-known/jwks.json"), timeout=5).json()["keys"]
    okp = [k for k in keys if k["kty"] == "OKP"]
    assert okp and okp[0]["crv"] == "Ed25519" and "d" not in okp[0]


def test_signs_in_with_an_eddsa_id_token(eddsa_op, eddsa_port, new_httpd):
    h = new_httpd(eddsa_op.issuer, port=eddsa_port,
                  extra_coinpay="CoinpayIDTokenAlgorithms EdDSA RS256")
    h.start()
    s, r = _callback(h, "ed-alice")
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert cookies_set(r).get("coinpay_session", ("",))[0], "no session after an EdDSA ID token"
    r, env = whoami(s, h)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert env["REMOTE_USER"] == "ed-alice"


@pytest.mark.allow_log("CPA00131:")
def test_eddsa_id_token_is_refused_when_eddsa_is_not_allowed(eddsa_op, eddsa_port, new_httpd):
    """The same provider and key, but the site allows RS256 only: the ID token (EdDSA) fails."""
    h = new_httpd(eddsa_op.issuer, port=eddsa_port,
                  extra_coinpay="CoinpayIDTokenAlgorithms RS256 ES256")
    h.start()
    s, r = _callback(h, "ed-mallory")
    assert r.status_code == 401, (r.status_code, r.text[:300])
    assert not cookies_set(r).get("coinpay_session", ("",))[0], "refused login set a session"
    assert "alg EdDSA is not in the allow-list" in h.error_log_text()


def _configtest(tmp_path, algs):
    port = free_port()
    coinpay = coinpay_directives("http://127.0.0.1:1", "rp", CLIENT_SECRET,
                                 f"http://127.0.0.1:{port}/api/auth/callback/coinpay",
                                 passphrase=PASSPHRASE, extra=f"CoinpayIDTokenAlgorithms {algs}")
    return Httpd(port, coinpay=coinpay, root=str(tmp_path)).configtest()


@pytest.mark.parametrize("algs", ["EdDSA", "EdDSA RS256", "RS256 ES256 PS256 EdDSA"])
def test_apachectl_t_accepts_eddsa(tmp_path, algs):
    rc, out = _configtest(tmp_path, algs)
    assert rc == 0, out
    assert "Syntax OK" in out


@pytest.mark.parametrize("alg", ["Ed448", "Ed25519", "eddsa", "HS256", "none"])
def test_apachectl_t_refuses_what_is_not_eddsa(tmp_path, alg):
    rc, out = _configtest(tmp_path, f"EdDSA {alg}")
    assert rc != 0, out
    assert "CoinpayIDTokenAlgorithms" in out and alg in out, out
    assert "EdDSA" in out.split("is not accepted", 1)[-1], out
