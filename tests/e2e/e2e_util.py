"""Small helpers for the e2e tests (cookies, sessions)."""
from urllib.parse import parse_qs, urlsplit

import requests

from harness import login

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
