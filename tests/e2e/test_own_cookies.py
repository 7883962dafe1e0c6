"""The module's own cookies (the session cookie and the per-attempt coinpay_login_* cookies)
never reach an application on a host that uses the module, whatever guards the location:
nothing (a public CGI), AuthType coinpay-bearer, or AuthType coinpay. The application's own
cookies arrive untouched.

One httpd against the real OP: /public-cgi/ (no AuthType), /api/cgi/ (AuthType coinpay-bearer,
tokens signed with the OP's own key) and /cgi-bin/ (AuthType coinpay) all run the same CGI,
which prints the HTTP_* variables it gets.
"""
import pytest
import requests

from conftest import _HTTPDS, make_httpd, start_checked
from e2e_util import BROWSER, login_cookies, signed_in, start_login
from harness import LOCATIONS
from jwt_util import access_claims, op_signing_key, sign_rs256

AUDIENCE = "https://api.example-business.com"
APP_COOKIES = ["theme=dark", "lang=en-GB", "cart=a1b2c3"]

BEARER_CGI = """
ScriptAlias /api/cgi/ "{root}/cgi-bin/"
<Location /api/cgi>
    AuthType coinpay-bearer
    Require coinpay-scope profile
</Location>
"""


@pytest.fixture(scope="module")
def ck_httpd(op, httpd_port):
    h = make_httpd(httpd_port, op.issuer, locations=LOCATIONS,
                   extra_coinpay=f"CoinpayBearerAudience {AUDIENCE}")
    h.extra_conf = BEARER_CGI.replace("{root}", h.root)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


@pytest.fixture(scope="module")
def own_cookies(ck_httpd):
    """[(name, value)] of a real session cookie and a real pending login cookie."""
    s = signed_in(ck_httpd, "cookie-keeper")
    r, _, _ = start_login(s, ck_httpd)          # a second sign-in, started and left pending
    pending = login_cookies(r)
    assert pending, "the login handler set no coinpay_login_* cookie"
    own = [("coinpay_session", s.cookies.get("coinpay_session"))]
    own += [(n, v) for n, (v, _) in pending.items()]
    s.close()
    return own


@pytest.fixture(scope="module")
def bearer(op):
    key, kid = op_signing_key(op.key_file)
    return sign_rs256(access_claims(op.issuer, AUDIENCE, sub="api-caller"), key, kid)


def _cookie_header(own):
    """The application's cookies around the module's, as a browser could send them."""
    pairs = [APP_COOKIES[0]] + [f"{n}={v}" for n, v in own] + APP_COOKIES[1:]
    return "; ".join(pairs)


def _cgi(h, path, cookie_header, headers=BROWSER, bearer=None):
    hdrs = dict(headers)
    if cookie_header is not None:
        hdrs["Cookie"] = cookie_header
    if bearer:
        hdrs["Authorization"] = f"Bearer {bearer}"
    r = requests.get(h.url(path), headers=hdrs, allow_redirects=False, timeout=10)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    env = dict(l.split("=", 1) for l in r.text.splitlines() if "=" in l)
    return r, env


def _assert_only_app_cookies(r, env, own, where):
    got = [c.strip() for c in env.get("HTTP_COOKIE", "").split(";") if c.strip()]
    names = [c.split("=", 1)[0] for c in got]
    assert "coinpay_session" not in names, (where, got)
    assert not [n for n in names if n.startswith("coinpay_login_")], (where, got)
    for _, value in own:
        assert value not in r.text, (where, "a module cookie's value reached the application")
    assert got == APP_COOKIES, (where, got)


def test_public_cgi_never_sees_the_module_cookies(ck_httpd, own_cookies):
    r, env = _cgi(ck_httpd, "/public-cgi/whoami", _cookie_header(own_cookies))
    assert env.get("REMOTE_USER", "") == ""      # unprotected: nobody is signed in here
    _assert_only_app_cookies(r, env, own_cookies, "public CGI")


def test_bearer_api_never_sees_the_module_cookies(ck_httpd, own_cookies, bearer):
    r, env = _cgi(ck_httpd, "/api/cgi/whoami", _cookie_header(own_cookies),
                  headers={"Accept": "application/json"}, bearer=bearer)
    assert env.get("REMOTE_USER") == "api-caller", r.text
    _assert_only_app_cookies(r, env, own_cookies, "bearer API")


def test_signed_in_cgi_never_sees_the_module_cookies(ck_httpd, own_cookies):
    r, env = _cgi(ck_httpd, "/cgi-bin/whoami", _cookie_header(own_cookies))
    assert env.get("REMOTE_USER") == "cookie-keeper", r.text
    _assert_only_app_cookies(r, env, own_cookies, "session-protected CGI")


def test_request_with_only_module_cookies_reaches_the_application_without_a_cookie(
        ck_httpd, own_cookies):
    header = "; ".join(f"{n}={v}" for n, v in own_cookies)
    for path in ("/public-cgi/whoami", "/cgi-bin/whoami"):
        r, env = _cgi(ck_httpd, path, header)
        assert env.get("HTTP_COOKIE", "") == "", (path, env.get("HTTP_COOKIE"))
        for _, value in own_cookies:
            assert value not in r.text, path


def test_application_cookies_alone_are_passed_as_they_came(ck_httpd):
    header = "; ".join(APP_COOKIES)
    r, env = _cgi(ck_httpd, "/public-cgi/whoami", header)
    assert env.get("HTTP_COOKIE") == header, env.get("HTTP_COOKIE")


pytestmark = pytest.mark.sanitize   # the whole file is in the sanitized e2e subset
