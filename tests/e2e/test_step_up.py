"""Step-up authentication against the real OP (oidc-provider with acr values, tests/op/op.js
--acr-values: a login name "alice+strong" signs in with urn:coinpay:acr:strong, a plain one with
urn:coinpay:acr:basic; ID tokens and JWT access tokens carry acr and auth_time).

Browser side: CoinpayAuthnContext / CoinpayMaxAuthAge send a too weak or too old session back to
the provider and check its answer, without ever looping. API side: RFC 9470 answers for
Require coinpay-acr and CoinpayMaxAuthAge on a bearer location."""
import re
import time
from urllib.parse import urlsplit

import pytest
import requests

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import BROWSER, query, whoami
from harness import OP, Httpd, coinpay_directives, free_port, login
from harness.httpd import LOCATIONS
from jwt_util import access_claims, op_signing_key, sign_rs256

CLIENT = "stepup-client"
SECRET = "stepup-secret-0123456789"
AUDIENCE = "https://api.example-business.com"
BASIC = "urn:coinpay:acr:basic"
STRONG = "urn:coinpay:acr:strong"
MAX_AGE = 4  # seconds: short enough to pass with a short sleep, long enough for a sign-in

STEP_UP_CONF = """
ScriptAlias /vault/ "{root}/cgi-bin/"
ScriptAlias /fresh/ "{root}/cgi-bin/"
ScriptAlias /api/strong/ "{root}/cgi-bin/"
ScriptAlias /api/fresh/ "{root}/cgi-bin/"
<Location /cgi-bin>
    CoinpayPassAccessToken On
</Location>
<Location /vault>
    AuthType coinpay
    CoinpayAuthnContext urn:coinpay:acr:strong
    Require valid-user
</Location>
<Location /fresh>
    AuthType coinpay
    CoinpayMaxAuthAge {max_age}
    Require valid-user
</Location>
<Location /api/strong>
    AuthType coinpay-bearer
    Require coinpay-acr urn:coinpay:acr:strong
</Location>
<Location /api/fresh>
    AuthType coinpay-bearer
    CoinpayMaxAuthAge {max_age}
    Require valid-user
</Location>
"""


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def acr_op(port, tmp_path_factory):
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [f"http://127.0.0.1:{port}/api/auth/callback/coinpay"]}
    o = OP([client], workdir=str(tmp_path_factory.mktemp("acr-op")), quiet=True,
           acr_values=[BASIC, STRONG])
    o.start()
    yield o
    o.cleanup()


@pytest.fixture(scope="module")
def site(acr_op, port):
    coinpay = coinpay_directives(
        acr_op.issuer, CLIENT, SECRET, f"http://127.0.0.1:{port}/api/auth/callback/coinpay",
        passphrase=PASSPHRASE, scope="openid email profile offline_access read:documents",
        extra=f"CoinpayResource {AUDIENCE}\nCoinpayBearerAudience {AUDIENCE}")
    h = Httpd(port, coinpay=coinpay, locations=LOCATIONS)
    h.extra_conf = STEP_UP_CONF.replace("{root}", h.root).replace("{max_age}", str(MAX_AGE))
    _HTTPDS.append(h)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


def sign_in(h, user, start_path="/cgi-bin/whoami", trace=None, session=None):
    s = session or requests.Session()
    r = login(s, h.base_url, user, start_path=start_path, trace=trace)
    return s, r


def env_of(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def authorize_visits(trace, op):
    return [url for method, url, _ in trace
            if url.startswith(op.issuer) and urlsplit(url).path == "/oauth/authorize"]


def challenge(r):
    return dict(re.findall(r'(\w+)="([^"]*)"', r.headers.get("WWW-Authenticate", "")))


def test_op_issues_the_acr_the_login_name_chooses(site, acr_op):
    assert set(acr_op.discovery()["acr_values_supported"]) == {BASIC, STRONG}
    s, r = sign_in(site, "erin")
    assert r.status_code == 200, r.text
    env = env_of(r.text)
    assert env["COINPAY_CLAIM_acr"] == BASIC and env["REMOTE_USER"] == "erin"
    assert env["COINPAY_CLAIM_auth_time"].isdigit()
    s2, r2 = sign_in(site, "erin+strong")
    env2 = env_of(r2.text)
    assert env2["COINPAY_CLAIM_acr"] == STRONG and env2["REMOTE_USER"] == "erin"


def test_weak_session_is_sent_to_the_provider_asking_for_the_strong_acr(site, acr_op):
    s, r = sign_in(site, "alice")
    assert r.status_code == 200
    r = s.get(site.url("/vault/whoami?x=1"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(acr_op.url("/oauth/authorize"))
    q = query(r.headers["Location"])
    assert q["acr_values"] == STRONG
    assert q["prompt"] == "login"
    # The weak session still serves the pages that ask for nothing more.
    assert whoami(s, site)[0].status_code == 200


def test_strong_sign_in_reaches_the_page_and_the_weak_location_still_works(site, acr_op):
    s, _ = sign_in(site, "bob")
    weak_cookie = s.cookies.get("coinpay_session")
    trace = []
    _, r = sign_in(site, "bob+strong", start_path="/vault/whoami?x=1", trace=trace, session=s)
    assert r.status_code == 200, r.text[:300]
    assert urlsplit(trace[-1][1]).path == "/vault/whoami", trace[-1]
    assert "x=1" in trace[-1][1], "the return URL is kept"
    env = env_of(r.text)
    assert env["COINPAY_CLAIM_acr"] == STRONG and env["REMOTE_USER"] == "bob"
    assert s.cookies.get("coinpay_session") != weak_cookie, "a new session id at every sign-in"
    r, env = whoami(s, site)
    assert r.status_code == 200 and env["COINPAY_CLAIM_acr"] == STRONG
    assert s.get(site.url("/vault/whoami"), headers=BROWSER,
                 allow_redirects=False).status_code == 200


def test_first_sign_in_at_a_step_up_location_asks_for_the_acr_at_once(site, acr_op):
    trace = []
    s, r = sign_in(site, "ivy+strong", start_path="/vault/whoami", trace=trace)
    assert r.status_code == 200, r.text[:300]
    assert env_of(r.text)["COINPAY_CLAIM_acr"] == STRONG
    [authorize] = authorize_visits(trace, acr_op)
    assert query(authorize)["acr_values"] == STRONG and query(authorize)["prompt"] == "login"


def test_provider_answering_with_the_weak_acr_again_gets_a_page_not_a_loop(site, acr_op):
    s, _ = sign_in(site, "carol")
    trace = []
    _, r = sign_in(site, "carol", start_path="/vault/whoami", trace=trace, session=s)
    assert r.status_code == 401, r.text[:300]
    assert urlsplit(trace[-1][1]).path == "/api/auth/callback/coinpay"
    assert "Location" not in r.headers
    assert "stronger" in r.text.lower()
    assert BASIC not in r.text, "nothing from the provider is echoed"
    assert len(authorize_visits(trace, acr_op)) == 1, trace
    # The old session is untouched.
    r, env = whoami(s, site)
    assert r.status_code == 200 and env["COINPAY_CLAIM_acr"] == BASIC


def test_post_to_a_step_up_location_with_a_weak_session_gets_401_not_a_redirect(site):
    s, _ = sign_in(site, "dave")
    r = s.post(site.url("/vault/whoami"), data={"amount": "5"}, headers=BROWSER,
               allow_redirects=False)
    assert r.status_code == 401
    assert "Location" not in r.headers
    assert r.headers["WWW-Authenticate"].startswith("Coinpay")


def test_session_older_than_the_max_age_signs_in_again(site, acr_op):
    # A first sign-in at the location asks for max_age and passes.
    trace = []
    s, r = sign_in(site, "frank", start_path="/fresh/whoami", trace=trace)
    assert r.status_code == 200, r.text[:300]
    first = authorize_visits(trace, acr_op)
    assert len(first) == 1 and query(first[0])["max_age"] == str(MAX_AGE)
    assert "prompt" not in query(first[0])
    time.sleep(MAX_AGE + 1)
    r = s.get(site.url("/fresh/whoami"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302
    q = query(r.headers["Location"])
    assert q["max_age"] == str(MAX_AGE) and q["prompt"] == "login"
    # The provider authenticates the user again; the new auth_time lets the page through.
    trace = []
    _, r = sign_in(site, "frank", start_path="/fresh/whoami", trace=trace, session=s)
    assert r.status_code == 200, r.text[:300]
    assert any(m == "POST" and url.startswith(acr_op.issuer) for m, url, _ in trace), \
        "the provider asked for the login again"
    assert int(env_of(r.text)["COINPAY_CLAIM_auth_time"]) > int(time.time()) - MAX_AGE


# -- the API side (RFC 9470) ---------------------------------------------------------------

def access_token(site, user):
    s, r = sign_in(site, user)
    token = env_of(r.text)["COINPAY_ACCESS_TOKEN"]
    assert token.count(".") == 2, "the OP should issue a JWT access token for the resource"
    return token


def call(site, path, token):
    return requests.get(site.url(path), headers={"Authorization": f"Bearer {token}"},
                        allow_redirects=False, timeout=10)


def test_api_refuses_a_weak_token_with_the_rfc9470_challenge_and_accepts_a_strong_one(site):
    weak = access_token(site, "gina")
    r = call(site, "/api/strong/whoami", weak)
    assert r.status_code == 401
    c = challenge(r)
    assert r.headers["WWW-Authenticate"].startswith("Bearer ")
    assert c["error"] == "insufficient_user_authentication"
    assert c["acr_values"] == STRONG and c["error_description"]
    assert weak not in r.text
    strong = access_token(site, "gina+strong")
    r = call(site, "/api/strong/whoami", strong)
    assert r.status_code == 200, r.text
    assert env_of(r.text)["REMOTE_USER"] == "gina"


def test_api_refuses_a_token_whose_authentication_is_too_old_or_undated(site, acr_op):
    assert call(site, "/api/fresh/whoami", access_token(site, "hank")).status_code == 200
    key, kid = op_signing_key(acr_op.key_file)
    now = int(time.time())
    for extra in ({"auth_time": now - 3600}, {}):
        token = sign_rs256(access_claims(acr_op.issuer, AUDIENCE, acr=STRONG, **extra), key, kid)
        r = call(site, "/api/fresh/whoami", token)
        assert r.status_code == 401, extra
        c = challenge(r)
        assert c["error"] == "insufficient_user_authentication"
        assert c["max_age"] == str(MAX_AGE)
        assert "acr_values" not in c


# -- configuration (apachectl -t) ------------------------------------------------------------

def configtest(tmp_path, location):
    p = free_port()
    coinpay = coinpay_directives("http://127.0.0.1:1", CLIENT, SECRET,
                                 f"http://127.0.0.1:{p}/api/auth/callback/coinpay",
                                 passphrase=PASSPHRASE,
                                 extra=f"CoinpayBearerAudience {AUDIENCE}")
    h = Httpd(p, coinpay=coinpay, locations=LOCATIONS + location, root=str(tmp_path))
    return h.configtest()


def test_apachectl_t_accepts_the_step_up_directives(tmp_path):
    rc, out = configtest(tmp_path, STEP_UP_CONF.replace("{root}", str(tmp_path))
                         .replace("{max_age}", "300"))
    assert rc == 0 and "Syntax OK" in out, out


@pytest.mark.parametrize("location, tag", [
    ("<Location /v>\n AuthType coinpay\n CoinpayAuthnContext urn:a,b\n Require valid-user\n"
     "</Location>", "CPA00980"),
    ("<Location /v>\n AuthType coinpay-bearer\n Require coinpay-acr\n</Location>", "CPA00981"),
    ("<Location /v>\n AuthType coinpay-bearer\n Require coinpay-acr urn:a,b\n</Location>",
     "CPA00982"),
])
def test_apachectl_t_refuses_acr_values_it_cannot_send_or_echo(tmp_path, location, tag):
    rc, out = configtest(tmp_path, location)
    assert rc != 0 and tag in out, out
    assert ("CoinpayAuthnContext" if tag == "CPA00980" else "coinpay-acr") in out, out
