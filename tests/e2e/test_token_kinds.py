"""Every token is what it claims to be: on an API whose audience is the client id (a common
setup), an ID token or a logout token signed by the real provider is no access token; and a
provider that rotates its signing key between two sign-ins does not break the second one."""
import os
import time

import pytest
import requests

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import logout_token, signed_in
from harness import OP, Httpd, coinpay_directives, free_port
from harness.httpd import LOCATIONS
from jwt_util import access_claims, op_signing_key, sign_rs256

CLIENT = "kinds-client"
SECRET = "kinds-secret-0123456789"

API_LOCATION = """
<Location /api/me>
    AuthType coinpay-bearer
    Require valid-user
</Location>
"""


@pytest.fixture(scope="module")
def kinds_port():
    return free_port()


@pytest.fixture(scope="module")
def kinds_op(kinds_port, tmp_path_factory):
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [f"http://127.0.0.1:{kinds_port}/api/auth/callback/coinpay"]}
    o = OP([client], workdir=str(tmp_path_factory.mktemp("kinds-op")), quiet=True)
    o.start()
    yield o
    o.cleanup()


@pytest.fixture(scope="module")
def kinds_httpd(kinds_op, kinds_port):
    # The API's audience is the client id itself, and the key-refetch interval a whole minute.
    coinpay = coinpay_directives(
        kinds_op.issuer, CLIENT, SECRET,
        f"http://127.0.0.1:{kinds_port}/api/auth/callback/coinpay", passphrase=PASSPHRASE,
        extra=f"CoinpayBearerAudience {CLIENT}\nCoinpayJWKSRefetchInterval 60")
    h = Httpd(kinds_port, coinpay=coinpay, locations=LOCATIONS)
    h.extra_conf = API_LOCATION
    _HTTPDS.append(h)
    start_checked(h)
    os.makedirs(f"{h.root}/htdocs/api/me", exist_ok=True)
    with open(f"{h.root}/htdocs/api/me/index.json", "w") as f:
        f.write('{"me": "ok"}\n')
    for p in (f"{h.root}/htdocs/api", f"{h.root}/htdocs/api/me"):
        os.chmod(p, 0o755)
    os.chmod(f"{h.root}/htdocs/api/me/index.json", 0o644)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


def _call(h, token):
    return requests.get(h.url("/api/me/index.json"), headers={"Authorization": f"Bearer {token}"},
                        allow_redirects=False, timeout=10)


def _assert_invalid_token(r):
    assert r.status_code == 401, (r.status_code, r.text)
    assert 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")


def test_access_token_for_the_client_id_audience_is_accepted(kinds_httpd, kinds_op):
    key, kid = op_signing_key(kinds_op.key_file)
    token = sign_rs256(access_claims(kinds_op.issuer, CLIENT), key, kid)
    r = _call(kinds_httpd, token)
    assert r.status_code == 200, r.text
    assert r.json() == {"me": "ok"}


def test_id_token_is_refused_as_an_access_token(kinds_httpd, kinds_op):
    key, kid = op_signing_key(kinds_op.key_file)
    now = int(time.time())
    id_claims = {"iss": kinds_op.issuer, "aud": CLIENT, "sub": "alice", "iat": now,
                 "exp": now + 300, "nonce": "n-0123456789abcdef", "auth_time": now,
                 "azp": CLIENT}
    _assert_invalid_token(_call(kinds_httpd, sign_rs256(id_claims, key, kid, typ="JWT")))


def test_logout_token_is_refused_as_an_access_token(kinds_httpd, kinds_op):
    token = logout_token(kinds_op.key_file, kinds_op.issuer, CLIENT, sub="alice")
    _assert_invalid_token(_call(kinds_httpd, token))


def test_plainly_typed_token_is_refused_by_default(kinds_httpd, kinds_op):
    key, kid = op_signing_key(kinds_op.key_file)
    token = sign_rs256(access_claims(kinds_op.issuer, CLIENT), key, kid, typ="JWT")
    _assert_invalid_token(_call(kinds_httpd, token))


def test_provider_key_rotation_between_two_sign_ins_does_not_break_the_second(kinds_httpd,
                                                                           kinds_op):
    signed_in(kinds_httpd, "alice")  # the module now holds the provider's current keys
    fetched_at = time.monotonic()
    # The provider rotates: a new signing key, the old one withdrawn.
    port = kinds_op.port
    kinds_op.stop()
    os.remove(kinds_op.key_file)
    kinds_op.port = port
    kinds_op.start()
    # An unknown kid refetches at once, except within a few seconds of the last fetch.
    time.sleep(max(0.0, 6.0 - (time.monotonic() - fetched_at)))
    signed_in(kinds_httpd, "bob")  # asserts the sign-in ended on the protected page


pytestmark = pytest.mark.sanitize   # the whole file is in the sanitized e2e subset
