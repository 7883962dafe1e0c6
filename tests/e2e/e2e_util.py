"""Small helpers for the e2e tests (cookies, sessions, races, logout tokens)."""
import concurrent.futures
import contextlib
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import requests

from harness import login
from harness.util import wait_until
from jwt_util import op_signing_key, sign_rs256

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document",
           "User-Agent": "Mozilla/5.0 (e2e)"}


def set_cookie_headers(resp):
    """All raw Set-Cookie header values of a response."""
    return resp.raw.headers.getlist("Set-Cookie") if resp.raw is not None else []


def parse_set_cookie(raw):
    """'n=v; Path=/; HttpOnly' -> (name, value, {attr_lower: value_or_True})."""
    parts = [p.strip() for p in raw.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if not p:
            continue
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), value.strip(), attrs


def cookies_set(resp):
    """{name: (value, attrs)} for every Set-Cookie of the response."""
    out = {}
    for raw in set_cookie_headers(resp):
        n, v, a = parse_set_cookie(raw)
        out[n] = (v, a)
    return out


def login_cookies(resp):
    return {n: va for n, va in cookies_set(resp).items() if n.startswith("coinpay_login_")}


def is_deleted(attrs):
    return attrs.get("max-age") == "0"


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def query_multi(url):
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def signed_in(httpd, user="alice", **kw):
    """A requests.Session signed in as `user` (asserts the login ended on the protected page)."""
    s = requests.Session()
    r = login(s, httpd.base_url, user, **kw)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert s.cookies.get("coinpay_session"), "no session cookie after login"
    return s


def start_login(session, httpd, return_to="/app/"):
    """GET the login handler; returns (response, authorize URL, its query)."""
    r = session.get(httpd.url("/api/auth/login/coinpay"), params={"return_to": return_to},
                    headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    loc = r.headers["Location"]
    return r, loc, query(loc)


def callback_url(session, httpd, user="alice", return_to="/app/"):
    """Run the login up to (not including) the callback; returns the callback URL."""
    return login(session, httpd.base_url, user,
                 start_path=f"/api/auth/login/coinpay?return_to={return_to}",
                 stop_at_callback=True)


def whoami(session, httpd, headers=None):
    """GET the CGI; returns (response, {VAR: value})."""
    r = session.get(httpd.url("/cgi-bin/whoami"), headers=headers or BROWSER,
                    allow_redirects=False)
    env = {}
    if r.status_code == 200:
        for line in r.content.decode("utf-8", "replace").splitlines():
            k, eq, v = line.partition("=")
            if eq:
                env[k] = v
    return r, env


# -- races with a refresh held at the provider ------------------------------------------------
@contextlib.contextmanager
def refresh_on_hold(op, seconds, request, timeout=30):
    """Make the provider hold its refresh answers `seconds`, run `request` (a callable that
    sends one request whose session is due for refresh) in a background thread, and enter the
    block once the provider has done that refresh grant (the old refresh token spent, the new
    one issued) while its answer is still on hold. Yields a Future of request()'s result;
    on leaving the block, waits for it and releases the hold.

    op: a harness OP (tests/op/op.js, which counts the grant before holding its answer)."""
    before = op.stats()["token_calls"].get("refresh_token", 0)
    op.hold_refresh(seconds)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        fut = pool.submit(request)
        wait_until(lambda: fut.done() or
                   op.stats()["token_calls"].get("refresh_token", 0) > before,
                   timeout=timeout, what="the refresh grant at the provider")
        assert not fut.done(), ("the request finished before its refresh was held",
                                fut.result())
        yield fut
        fut.result(timeout=timeout)
    finally:
        op.hold_refresh(0)
        pool.shutdown(wait=True)


def logout_token(key_file, issuer, audience, sub=None, sid=None, **extra):
    """A back-channel logout token signed with the provider's own key (tests/op key file)."""
    key, kid = op_signing_key(key_file)
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "iat": now, "exp": now + 120,
              "jti": str(uuid.uuid4()),
              "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
    if sub is not None:
        claims["sub"] = sub
    if sid is not None:
        claims["sid"] = sid
    claims.update(extra)
    return sign_rs256(claims, key, kid, typ="logout+jwt")


API = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"}
SESSION_COOKIE = "coinpay_session"


def session_get(h, path, cookie, headers=BROWSER):
    """GET path on httpd h with only the session cookie `cookie` (None: no cookie)."""
    return requests.get(h.url(path), cookies={SESSION_COOKIE: cookie} if cookie else None,
                        headers=headers, allow_redirects=False, timeout=30)


def assert_signed_out(h, op, cookie):
    """The cookie opens nothing on h: a page sends the browser to sign in at op, an API call
    gets 401."""
    r = session_get(h, "/app/", cookie)
    assert r.status_code == 302, ("the ended session still opens the page", h.port,
                                  r.status_code, r.text[:200])
    assert r.headers["Location"].startswith(op.url("/oauth/authorize")), r.headers["Location"]
    r = session_get(h, "/app/data.json", cookie, headers=API)
    assert r.status_code == 401, ("the ended session still opens the API", h.port,
                                  r.status_code, r.text[:200])


def new_session_cookie(resp):
    """The non-empty session cookie value the response sets, else None."""
    c = cookies_set(resp).get(SESSION_COOKIE)
    return c[0] if c and c[0] and not is_deleted(c[1]) else None


def check_after_race(held, op, nodes, cookies, revoked=True):
    """After a session ended while its refresh was held (see refresh_on_hold): the held request
    got no server error; every session cookie in play (and any the held answer handed out) is
    refused on every node; the provider saw one refresh only; and, when `revoked` (a logout at
    the relying party, which revokes what the session held), the refresh token that the
    discarded refresh brought has been revoked."""
    assert held.status_code < 500, (held.status_code, held.text[:300])
    cookies = list(cookies)
    fresh = new_session_cookie(held)
    if fresh:
        cookies.append(fresh)  # a cookie handed out by the late refresh must be dead too
    for h in nodes:
        for c in cookies:
            assert_signed_out(h, op, c)
    st = op.stats()
    assert st["token_calls"].get("refresh_token") == 1, st["token_calls"]
    if not revoked:
        return
    late = st["refresh_tokens_issued"][-1]   # issued by the refresh whose answer was held
    wait_until(lambda: late in op.stats()["revoked_tokens"], timeout=10,
               what="the module to revoke the refresh token of the discarded refresh")


def backchannel_ended(h, since):
    """The session counts of h's CPA00185 lines ('back-channel logout ended N session(s)')
    written after error-log offset `since`."""
    out = []
    for line in h.error_log_lines(since):
        m = re.search(r"CPA00185\b.*?ended (\d+) session", line)
        if m:
            out.append(int(m.group(1)))
    return out


def post_logout_token(h, token, path="/api/auth/backchannel/coinpay"):
    return requests.post(h.url(path), data={"logout_token": token}, timeout=10)
