"""Several providers on one virtual host: the default one (the real OP, OpenID Connect) and
`coinbase`, a plain OAuth 2.0 provider modelled on Sign in with Coinbase
(tests/op/coinbase_like.py): no ID token, the user endpoint says who signed in, single-use
refresh tokens, revocation authenticated with the access token.

One httpd serves both; /wallet accepts only coinbase, /app only the default provider, /both
and /cgi-bin either of them (an unauthenticated browser there gets a chooser page). The CGI
also runs at /wallet-cgi (coinbase only) and /app-cgi (default only). Where several providers
are accepted REMOTE_USER is `<sub>@<provider name>` (the top-level provider is `default`);
where one is, the bare sub.
"""
import concurrent.futures
import os
import re
import sys
import time
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from conftest import PASSPHRASE, start_checked, _HTTPDS
from e2e_util import BROWSER, cookies_set, query, whoami
from harness import LOCATIONS, OP, Httpd, coinpay_directives, free_port, login

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "op")))
from coinbase_like import CoinbaseLike  # noqa: E402  (tests/op/coinbase_like.py)

OP_CLIENT = "providers"
OP_SECRET = "providers-secret-0123456789"
CB_CLIENT = "cb-client"
CB_SECRET = "cb-secret-0123456789abcdef"
CB_SCOPE = "wallet:user:read,wallet:user:email"
CB_AUTH_PARAMS = {"account": "all", "meta[send_limit_amount]": "1",
                  "meta[send_limit_currency]": "USD", "meta[send_limit_period]": "day"}
API = {"Accept": "application/json"}
CB_TTL = 3  # access-token lifetime for the refresh test; the module refreshes 1 s before


# -- who signed in, as the application sees it ---------------------------------------------
def _cgi_env(s, h, path):
    r = s.get(h.url(path), headers=BROWSER, allow_redirects=False, timeout=15)
    assert r.status_code == 200, (path, r.status_code, r.headers.get("Location"), r.text[:300])
    return dict(l.split("=", 1) for l in r.text.splitlines() if "=" in l)


def test_remote_user_names_the_provider_where_several_are_accepted(pv_httpd, cb):
    """At a location that takes both providers, user 42 at Coinbase and user 42 at the default
    provider are different people: REMOTE_USER says which provider vouches for the sub."""
    cb.set_next_user("same-sub-42")
    s = coinbase_signed_in(pv_httpd, cb)
    assert _cgi_env(s, pv_httpd, "/cgi-bin/whoami")["REMOTE_USER"] == "same-sub-42@coinbase"
    d = default_signed_in(pv_httpd, "same-sub-42")
    assert _cgi_env(d, pv_httpd, "/cgi-bin/whoami")["REMOTE_USER"] == "same-sub-42@default"


def test_remote_user_is_the_bare_sub_where_one_provider_is_accepted(pv_httpd, cb):
    s = coinbase_signed_in(pv_httpd, cb)
    assert _cgi_env(s, pv_httpd, "/wallet-cgi/whoami")["REMOTE_USER"] == "cb-user-1"
    d = default_signed_in(pv_httpd, "alice")
    assert _cgi_env(d, pv_httpd, "/app-cgi/whoami")["REMOTE_USER"] == "alice"


def test_cgi_is_told_which_provider_and_issuer_signed_the_user_in(pv_httpd, pv_op, cb):
    s = coinbase_signed_in(pv_httpd, cb)
    d = default_signed_in(pv_httpd, "alice")
    for path in ("/cgi-bin/whoami", "/wallet-cgi/whoami"):
        env = _cgi_env(s, pv_httpd, path)
        assert env.get("COINPAY_PROVIDER") == "coinbase", (path, env)
        # No CoinpayIssuer for a plain OAuth 2.0 provider: its authorization server's origin.
        assert env.get("COINPAY_ISSUER", "").rstrip("/") == cb.base_url, (path, env)
    for path in ("/cgi-bin/whoami", "/app-cgi/whoami"):
        env = _cgi_env(d, pv_httpd, path)
        assert env.get("COINPAY_PROVIDER") == "default", (path, env)
        assert env.get("COINPAY_ISSUER") == pv_op.issuer, (path, env)
    # A client cannot pass for either.
    r = s.get(pv_httpd.url("/wallet-cgi/whoami"), allow_redirects=False, timeout=15,
              headers=dict(BROWSER, **{"Coinpay-Provider": "default",
                                       "Coinpay-Issuer": "https://evil.example"}))
    assert r.status_code == 200 and "evil.example" not in r.text, r.text
    assert "COINPAY_PROVIDER=coinbase" in r.text, r.text


# -- configuration -------------------------------------------------------------------------
def coinbase_block(port, cb_url, drop=()):
    """The <CoinpayProvider coinbase> block; drop: directive names to leave out."""
    lines = [
        ("CoinpayProviderProfile", "oauth2"),
        ("CoinpayDisplayName", "Coinbase"),
        ("CoinpayClientID", CB_CLIENT),
        ("CoinpayClientSecret", CB_SECRET),
        ("CoinpayRedirectURI", f"http://127.0.0.1:{port}/api/auth/callback/coinbase"),
        ("CoinpayScope", CB_SCOPE),
        ("CoinpayAuthorizationEndpoint", cb_url + "/oauth/authorize"),
        ("CoinpayTokenEndpoint", cb_url + "/oauth/token"),
        ("CoinpayRevocationEndpoint", cb_url + "/oauth/revoke"),
        ("CoinpayRevocationAuth", "bearer"),
        ("CoinpayUserEndpoint", cb_url + "/v2/user"),
        ("CoinpaySubjectPointer", "/data/id"),
        ("CoinpayClaimPointer", "email /data/email"),
        ("CoinpayClaimPointer", "name /data/name"),
    ] + [("CoinpayAuthParam", f"{k} {v}") for k, v in CB_AUTH_PARAMS.items()]
    body = "\n".join(f"    {d} {v}" for d, v in lines if d not in drop)
    return f"<CoinpayProvider coinbase>\n{body}\n</CoinpayProvider>"


PROVIDER_LOCATIONS = """
<Location /api/auth/login/coinbase>
    SetHandler coinpay-login
    CoinpayUseProvider coinbase
    Require all granted
</Location>
<Location /api/auth/callback/coinbase>
    SetHandler coinpay-callback
    CoinpayUseProvider coinbase
    Require all granted
</Location>
<Location /api/auth/logout/coinbase>
    SetHandler coinpay-logout
    CoinpayUseProvider coinbase
    Require all granted
</Location>
<Location /wallet>
    AuthType coinpay
    CoinpayUseProvider coinbase
    Require valid-user
</Location>
<Location /both>
    AuthType coinpay
    CoinpayUseProvider default coinbase
    Require valid-user
</Location>
<Location /cgi-bin>
    CoinpayUseProvider default coinbase
</Location>
<Location /wallet-cgi>
    AuthType coinpay
    CoinpayUseProvider coinbase
    Require valid-user
</Location>
<Location /app-cgi>
    AuthType coinpay
    Require valid-user
</Location>
"""


def make_providers_httpd(port, op_issuer, cb_url, root=None, drop=()):
    coinpay = "\n".join([
        coinpay_directives(op_issuer, OP_CLIENT, OP_SECRET,
                           f"http://127.0.0.1:{port}/api/auth/callback/coinpay",
                           passphrase=PASSPHRASE,
                           extra="CoinpayRefreshBeforeExpiry 1\n"
                                 "<Location />\n    CoinpayRefresh always\n</Location>"),
        coinbase_block(port, cb_url, drop=drop)])
    h = Httpd(port, coinpay=coinpay, locations=LOCATIONS + PROVIDER_LOCATIONS, root=root)
    # /wallet/ and /both/ serve the same static page as /app/.
    h.extra_conf = "\n".join(
        [f'Alias /{p} "{h.root}/htdocs/app"' for p in ("wallet", "both")] +
        # The same CGI with one provider only (/cgi-bin accepts both).
        [f'ScriptAlias /{p}/ "{h.root}/cgi-bin/"' for p in ("wallet-cgi", "app-cgi")])
    return h


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pv_port():
    return free_port()


@pytest.fixture(scope="module")
def pv_op(pv_port, tmp_path_factory):
    base = f"http://127.0.0.1:{pv_port}"
    client = {"client_id": OP_CLIENT, "client_secret": OP_SECRET,
              "token_endpoint_auth_method": "client_secret_basic",
              "redirect_uris": [base + "/api/auth/callback/coinpay"],
              "post_logout_redirect_uris": [base + "/bye", base + "/"]}
    o = OP([client], workdir=str(tmp_path_factory.mktemp("pv-op")), quiet=True)
    o.start()
    yield o
    o.cleanup()


@pytest.fixture(scope="module")
def cb_server(pv_port):
    s = CoinbaseLike(client_id=CB_CLIENT, client_secret=CB_SECRET,
                     redirect_uris=[f"http://127.0.0.1:{pv_port}/api/auth/callback/coinbase"])
    s.start()
    yield s
    s.stop()


@pytest.fixture
def cb(cb_server):
    cb_server.reset()
    yield cb_server
    cb_server.reset()


@pytest.fixture(scope="module")
def pv_httpd(pv_op, cb_server, pv_port):
    h = make_providers_httpd(pv_port, pv_op.issuer, cb_server.base_url)
    _HTTPDS.append(h)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


# -- helpers -------------------------------------------------------------------------------
def follow(s, h, start, headers=BROWSER, max_steps=10):
    """GET start (a path on h or a URL) and follow redirects by hand, through the
    Coinbase-like server (which answers authorize with an immediate redirect).
    Returns (final response, [(url, status, Location)])."""
    url = start if start.startswith("http") else h.url(start)
    trace = []
    for _ in range(max_steps):
        r = s.get(url, headers=headers, allow_redirects=False, timeout=15)
        trace.append((url, r.status_code, r.headers.get("Location")))
        if r.status_code in (301, 302, 303, 307, 308):
            url = urljoin(url, r.headers["Location"])
            continue
        return r, trace
    raise AssertionError(f"too many redirects: {trace}")


def _visited(trace, prefix):
    return [t for t in trace if t[0].startswith(prefix)]


def coinbase_signed_in(h, cb, start="/wallet/"):
    """A requests.Session signed in with the coinbase provider, starting at `start`."""
    s = requests.Session()
    r, trace = follow(s, h, start)
    assert r.status_code == 200, (r.status_code, r.text[:300], trace)
    assert _visited(trace, cb.url("/oauth/authorize")), trace
    assert _visited(trace, h.url("/api/auth/callback/coinbase")), trace
    assert s.cookies.get("coinpay_session"), ("no session cookie", trace)
    return s


def default_signed_in(h, user="alice", start_path="/api/auth/login/coinpay?return_to=/app/"):
    s = requests.Session()
    r = login(s, h.base_url, user, start_path=start_path)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert s.cookies.get("coinpay_session")
    return s


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []  # [href, text]
        self._cur = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._cur = [dict(attrs).get("href"), ""]
            self.links.append(self._cur)

    def handle_data(self, data):
        if self._cur is not None:
            self._cur[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._cur is not None:
            self._cur[1] = " ".join(self._cur[1].split())
            self._cur = None


def links(html):
    p = _Links()
    p.feed(html)
    return p.links


def _short_error(r, status):
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert len(r.text) < 4096
    sc = cookies_set(r)
    assert "coinpay_session" not in sc or sc["coinpay_session"][0] == ""


# -- sign in with Coinbase -----------------------------------------------------------------
def test_sign_in_with_coinbase_on_wallet(pv_httpd, cb):
    s = requests.Session()
    r = s.get(pv_httpd.url("/wallet/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert r.headers["Location"].startswith(cb.url("/oauth/authorize?")), r.headers["Location"]
    r = s.get(r.headers["Location"], allow_redirects=False)  # Coinbase: straight back
    assert r.status_code == 302, (r.status_code, r.text[:300], cb.stats()["authorize_errors"])
    callback = r.headers["Location"]
    assert callback.startswith(pv_httpd.url("/api/auth/callback/coinbase?")), callback
    r = s.get(callback, headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300], cb.stats())
    assert r.headers["Location"] in ("/wallet/", pv_httpd.url("/wallet/")), r.headers["Location"]
    assert cookies_set(r)["coinpay_session"][0]
    r = s.get(pv_httpd.url("/wallet/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 200 and 'id="protected"' in r.text, (r.status_code, r.text[:300])

    st = cb.stats()
    assert st["token_calls"] == {"authorization_code": 1}, st["token_calls"]
    assert st["token_errors"] == {}, st["token_requests"]
    tr = st["token_requests"][0]
    assert tr["redirect_uri"] == pv_httpd.url("/api/auth/callback/coinbase")
    assert tr.get("code_verifier"), tr
    # The module asked the user endpoint who signed in, with the access token it got.
    assert st["user_calls"] == 1 and st["user_call_errors"] == 0, st
    assert st["user_call_tokens"] == [st["access_tokens_issued"][0]]


def test_cgi_sees_coinbase_user_id_and_claims(pv_httpd, cb):
    cb.set_next_user("cb-user-42", name="Satoshi Nakamoto",
                     email="satoshi@example-business.com")
    s = coinbase_signed_in(pv_httpd, cb)
    r, env = whoami(s, pv_httpd)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert env["REMOTE_USER"] == "cb-user-42@coinbase", r.text   # /cgi-bin takes both
    assert env["AUTH_TYPE"].lower() == "coinpay"
    assert env.get("COINPAY_CLAIM_email") == "satoshi@example-business.com", r.text
    assert env.get("COINPAY_CLAIM_name") == "Satoshi Nakamoto", r.text
    # No token ever reaches the application unless asked for (CoinpayPassAccessToken).
    st = cb.stats()
    for t in st["access_tokens_issued"] + st["refresh_tokens_issued"]:
        assert t not in r.text


def test_default_user_id_is_cb_user_1(pv_httpd, cb):
    s = coinbase_signed_in(pv_httpd, cb)
    r, env = whoami(s, pv_httpd)
    assert env.get("REMOTE_USER") == "cb-user-1@coinbase", (r.status_code, r.text[:300])
    assert env.get("COINPAY_CLAIM_email") == "cb-user-1@example-business.com", r.text


def test_authorize_request_carries_coinbase_parameters(pv_httpd, cb):
    s = requests.Session()
    r = s.get(pv_httpd.url("/api/auth/login/coinbase"), params={"return_to": "/wallet/"},
              headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert r.headers["Location"].startswith(cb.url("/oauth/authorize?"))
    s.get(r.headers["Location"], allow_redirects=False)
    st = cb.stats()
    assert st["authorize_calls"] == 1 and st["authorize_errors"] == [], st
    pairs = st["authorize_requests"][0]
    names = [k for k, _ in pairs]
    assert len(names) == len(set(names)), pairs
    q = dict(pairs)
    assert q["client_id"] == CB_CLIENT
    assert q["response_type"] == "code"
    assert q["redirect_uri"] == pv_httpd.url("/api/auth/callback/coinbase")
    assert q["scope"] == CB_SCOPE, q["scope"]          # commas, as written; nothing added
    assert q["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", q["code_challenge"]), q["code_challenge"]
    assert len(q.get("state", "")) >= 16, q
    assert "nonce" not in q, q                          # no ID token, so no nonce
    for k, v in CB_AUTH_PARAMS.items():
        assert q.get(k) == v, (k, q)
    # The brackets are percent-encoded in the query string (RFC 3986: not allowed raw).
    raw = st["authorize_raw_queries"][0]
    assert re.search(r"meta%5Bsend_limit_amount%5D=1(&|$)", raw, re.I), raw
    assert "[" not in raw and "]" not in raw, raw


# -- tokens --------------------------------------------------------------------------------
def test_refresh_is_a_single_flight_with_single_use_refresh_tokens(pv_httpd, cb):
    cb.set(access_token_ttl=CB_TTL)
    s = coinbase_signed_in(pv_httpd, cb)
    cookie = {"coinpay_session": s.cookies.get("coinpay_session")}
    first_rt = cb.stats()["refresh_tokens_issued"][0]
    time.sleep(CB_TTL - 1 + 0.3)
    cb.set(token_delay=0.3)  # a slow provider: the parallel requests all see the refresh due

    def one(_):
        return requests.get(pv_httpd.url("/wallet/"), cookies=cookie, headers=API,
                            allow_redirects=False, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(one, range(20)))
    st = cb.stats()
    assert codes.count(200) == 20, ({c: codes.count(c) for c in set(codes)}, st["token_calls"],
                                    st["token_errors"])
    assert st["token_calls"].get("refresh_token") == 1, st["token_calls"]
    assert st["token_errors"] == {}, st["token_errors"]
    assert st["refresh_token_reuse"] == 0
    assert st["refresh_tokens_presented"] == [first_rt]
    tr = [t for t in st["token_requests"] if t.get("grant_type") == "refresh_token"][0]
    assert tr["refresh_token"] == first_rt

    # The next refresh presents the rotated token (the first one is spent).
    cb.set(token_delay=0)
    time.sleep(CB_TTL - 1 + 0.3)
    assert one(0) == 200
    st = cb.stats()
    assert st["token_calls"].get("refresh_token") == 2, st["token_calls"]
    assert st["refresh_tokens_presented"][1] == st["refresh_tokens_issued"][1], st
    assert st["token_errors"] == {} and st["refresh_token_reuse"] == 0, st


def test_logout_revokes_refresh_token_authenticated_with_the_access_token(pv_httpd, cb):
    s = coinbase_signed_in(pv_httpd, cb)
    st = cb.stats()
    at, rt = st["access_tokens_issued"][0], st["refresh_tokens_issued"][0]
    r = s.get(pv_httpd.url("/api/auth/logout/coinbase"), params={"return_to": "/bye"},
              headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert r.headers["Location"] in ("/bye", pv_httpd.url("/bye"))
    st = cb.stats()
    assert st["revoke_requests"], "nothing was revoked at the provider"
    req = [x for x in st["revoke_requests"] if x["token"] == rt]
    assert req, st["revoke_requests"]
    assert req[0]["auth"] == "bearer" and req[0]["bearer"] == at, req[0]
    assert req[0]["authorized"] is True and req[0]["status"] == 200, req[0]
    assert rt in st["revoked_tokens"]
    assert not cb.token_is_active(rt)
    # The session is gone: /wallet sends the browser to sign in again.
    r = s.get(pv_httpd.url("/wallet/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(cb.url("/oauth/authorize"))


def test_logout_after_the_access_token_expired_still_revokes(pv_httpd, cb):
    """Coinbase's refresh tokens never expire, and its revocation endpoint wants a live access
    token as bearer: signing out after the access token ran out must not leave a usable
    refresh token behind (e.g. refresh first, then revoke with the fresh access token)."""
    cb.set(access_token_ttl=CB_TTL)
    s = coinbase_signed_in(pv_httpd, cb)
    time.sleep(CB_TTL + 0.5)  # idle: the access token has expired, nothing refreshed it
    r = s.get(pv_httpd.url("/api/auth/logout/coinbase"), params={"return_to": "/bye"},
              headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    st = cb.stats()
    live = [t for t in st["refresh_tokens_issued"] if cb.token_is_active(t)]
    assert not live, ("refresh token still usable after logout", st["revoke_requests"],
                      st["token_calls"])
    assert all(x["authorized"] for x in st["revoke_requests"]), st["revoke_requests"]


# -- several providers on one location -----------------------------------------------------
def test_location_with_two_providers_shows_a_chooser(pv_httpd, pv_op, cb, session):
    r = session.get(pv_httpd.url("/both/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 401, (r.status_code, r.headers.get("Location"), r.text[:300])
    assert r.headers.get("Content-Type", "").startswith("text/html"), r.headers
    by_name = {}
    for href, text in links(r.text):
        u = urljoin(pv_httpd.url("/both/"), href or "")
        if urlsplit(u).path == "/both/" and "coinpay_login" in query(u):
            by_name[query(u)["coinpay_login"]] = (u, text)
    assert set(by_name) == {"default", "coinbase"}, (links(r.text), r.text[:600])
    assert by_name["coinbase"][1] == "Sign in with Coinbase", by_name
    assert by_name["default"][1].startswith("Sign in with "), by_name
    assert urlsplit(by_name["coinbase"][0]).netloc in ("", f"127.0.0.1:{pv_httpd.port}")
    assert cb.stats()["authorize_calls"] == 0  # nothing started yet

    # The coinbase link starts Coinbase's sign-in and comes back to /both/.
    s = requests.Session()
    r, trace = follow(s, pv_httpd, by_name["coinbase"][0])
    assert r.status_code == 200 and 'id="protected"' in r.text, (r.status_code, trace)
    assert _visited(trace, cb.url("/oauth/authorize")), trace
    assert urlsplit(trace[-1][0]).path == "/both/", trace

    # The default link starts the real OP's sign-in.
    s = requests.Session()
    visited = []
    r = login(s, pv_httpd.base_url, "carol", start_path=by_name["default"][0], trace=visited)
    assert r.status_code == 200 and 'id="protected"' in r.text, (r.status_code, r.text[:300])
    assert visited[0][2] == 302 and visited[1][1].startswith(pv_op.url("/oauth/authorize")), \
        visited
    assert whoami(s, pv_httpd)[1].get("REMOTE_USER") == "carol@default"


def test_chooser_echoes_no_input(pv_httpd, session):
    evil = "<script>alert(1)</script>"
    r = session.get(pv_httpd.url("/both/"), params={"x": evil, "coinpay_login": evil},
                    headers=BROWSER, allow_redirects=False)
    # An unknown provider name is no sign-in: the chooser again (or a plain 400), never a
    # redirect and never the input as markup.
    assert r.status_code in (400, 401), (r.status_code, r.headers.get("Location"), r.text[:300])
    assert "<script" not in r.text.lower(), r.text[:600]
    r = session.get(pv_httpd.url("/both/%22%3E%3Cscript%3Ealert(2)%3C/script%3E"),
                    headers=BROWSER, allow_redirects=False)
    assert "<script" not in r.text.lower(), r.text[:600]


def test_chooser_location_gives_api_calls_a_plain_401(pv_httpd, session):
    r = session.get(pv_httpd.url("/both/"), headers=API, allow_redirects=False)
    assert r.status_code == 401, (r.status_code, r.headers.get("Location"))


def test_default_user_is_sent_to_sign_in_at_a_coinbase_only_location(pv_httpd, pv_op, cb):
    s = default_signed_in(pv_httpd, "alice")
    assert s.get(pv_httpd.url("/app/"), headers=BROWSER,
                 allow_redirects=False).status_code == 200
    assert s.get(pv_httpd.url("/both/"), headers=BROWSER,
                 allow_redirects=False).status_code == 200
    assert whoami(s, pv_httpd)[1].get("REMOTE_USER") == "alice@default"
    r = s.get(pv_httpd.url("/wallet/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert r.headers["Location"].startswith(cb.url("/oauth/authorize?")), r.headers["Location"]
    r = s.get(pv_httpd.url("/wallet/"), headers=API, allow_redirects=False)
    assert r.status_code == 401, r.status_code


def test_coinbase_user_is_sent_to_sign_in_at_a_default_only_location(pv_httpd, pv_op, cb):
    s = coinbase_signed_in(pv_httpd, cb)
    assert s.get(pv_httpd.url("/both/"), headers=BROWSER,
                 allow_redirects=False).status_code == 200
    r = s.get(pv_httpd.url("/app/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert r.headers["Location"].startswith(pv_op.url("/oauth/authorize")), r.headers["Location"]


def test_default_state_cookie_is_refused_at_coinbase_callback(pv_httpd, pv_op, cb):
    s = requests.Session()
    cb_url = login(s, pv_httpd.base_url, "mallory", stop_at_callback=True)
    assert urlsplit(cb_url).path == "/api/auth/callback/coinpay", cb_url
    q = query(cb_url)
    r = s.get(pv_httpd.url("/api/auth/callback/coinbase"),
              params={"code": q["code"], "state": q["state"]}, headers=BROWSER,
              allow_redirects=False)
    _short_error(r, 400)
    assert q["state"] not in r.text and q["code"] not in r.text
    assert cb.stats()["token_calls"] == {}, "the code went to the wrong provider"
    r = s.get(pv_httpd.url("/wallet/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(cb.url("/oauth/authorize"))


def test_coinbase_state_cookie_is_refused_at_default_callback(pv_httpd, pv_op, cb):
    s = requests.Session()
    r = s.get(pv_httpd.url("/api/auth/login/coinbase"), params={"return_to": "/wallet/"},
              headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    r = s.get(r.headers["Location"], allow_redirects=False)
    assert r.status_code == 302
    q = query(r.headers["Location"])
    r = s.get(pv_httpd.url("/api/auth/callback/coinpay"),
              params={"code": q["code"], "state": q["state"]}, headers=BROWSER,
              allow_redirects=False)
    _short_error(r, 400)
    assert q["state"] not in r.text
    assert cb.stats()["token_calls"] == {}
    r = s.get(pv_httpd.url("/app/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(pv_op.url("/oauth/authorize"))


# -- configuration -------------------------------------------------------------------------
def test_apachectl_t_accepts_the_two_provider_config(tmp_path):
    h = make_providers_httpd(free_port(), "http://127.0.0.1:1", "http://127.0.0.1:2",
                             root=str(tmp_path))
    rc, out = h.configtest()
    assert rc == 0 and "Syntax OK" in out, out


def test_apachectl_t_refuses_oauth2_provider_without_user_endpoint(tmp_path):
    h = make_providers_httpd(free_port(), "http://127.0.0.1:1", "http://127.0.0.1:2",
                             root=str(tmp_path), drop=("CoinpayUserEndpoint",))
    rc, out = h.configtest()
    assert rc != 0, out
    assert "CoinpayUserEndpoint" in out, out
    assert CB_SECRET not in out and OP_SECRET not in out and PASSPHRASE not in out, out


pytestmark = pytest.mark.sanitize   # the whole file is in the sanitized e2e subset
