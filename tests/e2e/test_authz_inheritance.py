"""Scope prechecks follow the Require lines in effect, as mod_authz_core merges them: a child
location with its own Require replaces the parent's (AuthMerging Off, the default), And keeps
both, Or lets either grant, and a child without any Require inherits the parent's."""
import os

import pytest
import requests

from conftest import CLIENT_ID, CLIENT_SECRET, PASSPHRASE, _HTTPDS, start_checked
from harness import Httpd, coinpay_directives, free_port
from harness.httpd import LOCATIONS
from jwt_util import access_claims, op_signing_key, sign_rs256

AUDIENCE = "https://api.example-business.com"

NESTED = """
<Location /api>
    AuthType coinpay-bearer
    Require coinpay-scope admin
</Location>
<Location /api/public>
    Require valid-user
</Location>
<Location /api/own>
    Require coinpay-scope profile
</Location>
<Location /api/both>
    AuthMerging And
    Require valid-user
</Location>
<Location /api/either>
    AuthMerging Or
    Require coinpay-scope profile
</Location>
<Location /api/inherits>
    CoinpayRemoteUserClaim sub
</Location>
"""
DIRS = ("public", "own", "both", "either", "inherits")


@pytest.fixture(scope="module")
def nested(op):
    port = free_port()
    coinpay = coinpay_directives(
        op.issuer, CLIENT_ID, CLIENT_SECRET, f"http://127.0.0.1:{port}/api/auth/callback/coinpay",
        passphrase=PASSPHRASE, extra=f"CoinpayBearerAudience {AUDIENCE}")
    h = Httpd(port, coinpay=coinpay, locations=LOCATIONS, extra_conf=NESTED)
    for rel in ("",) + DIRS:
        path = os.path.join(h.root, "htdocs", "api", rel)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "index.json"), "w") as f:
            f.write('{"at": "%s"}\n' % (rel or "api"))
    _HTTPDS.append(h)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


def _token(op, scope):
    key, kid = op_signing_key(op.key_file)
    return sign_rs256(access_claims(op.issuer, AUDIENCE, scope=scope), key, kid, typ="at+jwt")


def _get(h, path, token):
    return requests.get(h.url(path + "/index.json"), headers={"Authorization": f"Bearer {token}"},
                        allow_redirects=False, timeout=10)


def test_parent_scope_is_required_on_the_parent(nested, op):
    r = _get(nested, "/api", _token(op, "profile"))
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    assert _get(nested, "/api", _token(op, "admin")).status_code == 200


def test_child_with_its_own_require_does_not_inherit_the_parents_scope(nested, op):
    r = _get(nested, "/api/public", _token(op, "profile"))
    assert r.status_code == 200, r.text
    assert r.json() == {"at": "public"}


def test_child_with_its_own_scope_checks_only_that_scope(nested, op):
    assert _get(nested, "/api/own", _token(op, "profile")).status_code == 200
    r = _get(nested, "/api/own", _token(op, "admin"))
    assert r.status_code == 403
    assert 'scope="profile"' in r.headers["WWW-Authenticate"]


def test_authmerging_and_keeps_the_parents_scope(nested, op):
    r = _get(nested, "/api/both", _token(op, "profile"))
    assert r.status_code == 403
    assert 'scope="admin"' in r.headers["WWW-Authenticate"]
    assert _get(nested, "/api/both", _token(op, "admin")).status_code == 200


def test_authmerging_or_lets_either_scope_grant(nested, op):
    assert _get(nested, "/api/either", _token(op, "profile")).status_code == 200
    assert _get(nested, "/api/either", _token(op, "admin")).status_code == 200


def test_child_without_require_inherits_the_parents_scope(nested, op):
    r = _get(nested, "/api/inherits", _token(op, "profile"))
    assert r.status_code == 403
    assert 'scope="admin"' in r.headers["WWW-Authenticate"]
    assert _get(nested, "/api/inherits", _token(op, "admin")).status_code == 200
