"""Signing in with the real OP (oidc-provider), and what signed-in users see."""
from urllib.parse import urlsplit

import pytest
import requests

from conftest import CLIENT_ID, redirect_uri
from e2e_util import (BROWSER, cookies_set, is_deleted, login_cookies, query, signed_in,
                      start_login, whoami)
from harness import login


@pytest.mark.sanitize
def test_signed_in_user_sees_protected_static_page(httpd):
    s = requests.Session()
    trace = []
    r = login(s, httpd.base_url, "alice", trace=trace)
    assert r.status_code == 200
    assert 'id="protected"' in r.text
    assert urlsplit(r.url).path == "/app/"
    # and again, with the session cookie only
    r = s.get(httpd.url("/app/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 200 and 'id="protected"' in r.text


def test_public_page_needs_no_sign_in(httpd, session):
    r = session.get(httpd.url("/public/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 200 and 'id="home"' in r.text
    assert not login_cookies(r)


@pytest.mark.sanitize
def test_login_handler_redirects_to_provider_with_pkce_state_and_nonce(httpd, op, session):
    r, loc, q = start_login(session, httpd)
    assert loc.startswith(op.issuer + "/oauth/authorize?")
    assert q["response_type"] == "code"
    assert q["client_id"] == CLIENT_ID
    assert q["redirect_uri"] == redirect_uri(httpd.port)
    assert set(q["scope"].split()) >= {"openid", "email", "profile", "offline_access"}
    assert q["code_challenge_method"] == "S256"
    assert len(q["code_challenge"]) == 43          # base64url(SHA-256)
    assert len(q["state"]) >= 22 and len(q["nonce"]) >= 22
    assert q["state"] != q["nonce"]
    lc = login_cookies(r)
    assert len(lc) == 1, r.headers.get("Set-Cookie")
    (name, (value, attrs)), = lc.items()
    assert value and q["state"] not in value, "login cookie must be sealed, not the bare state"
    assert attrs.get("httponly") is True
    assert str(attrs.get("samesite", "")).lower() == "lax"
    assert attrs.get("path") == "/"
    assert int(attrs.get("max-age", "0")) > 0
    assert "no-store" in r.headers.get("Cache-Control", "")


def test_each_login_attempt_gets_fresh_state_nonce_and_challenge(httpd, session):
    _, _, q1 = start_login(session, httpd)
    _, _, q2 = start_login(session, httpd)
    for k in ("state", "nonce", "code_challenge"):
        assert q1[k] != q2[k], k


def test_browser_navigation_without_session_redirects_to_provider(httpd, op, session):
    r = session.get(httpd.url("/app/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(op.issuer + "/oauth/authorize?")
    assert len(login_cookies(r)) == 1


def test_navigation_without_fetch_metadata_redirects_to_provider(httpd, op, session):
    r = session.get(httpd.url("/app/"), headers={"Accept": "text/html"}, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(op.issuer + "/oauth/authorize?")


def test_browser_navigation_returns_to_the_page_it_asked_for(httpd, session):
    s = requests.Session()
    r = login(s, httpd.base_url, "carol", start_path="/cgi-bin/whoami?x=1")
    assert r.status_code == 200
    assert urlsplit(r.url).path == "/cgi-bin/whoami"
    assert "REMOTE_USER=carol" in r.text


@pytest.mark.parametrize("headers", [
    {"X-Requested-With": "XMLHttpRequest", "Accept": "text/html"},
    {"Accept": "application/json"},
    {"Accept": "text/html", "Sec-Fetch-Mode": "cors"},
    {"Accept": "text/html", "Sec-Fetch-Mode": "no-cors"},
], ids=["xhr", "json", "fetch-cors", "fetch-no-cors"])
def test_xhr_without_session_gets_401(httpd, session, headers):
    r = session.get(httpd.url("/app/data.json"), headers=headers, allow_redirects=False)
    assert r.status_code == 401, (r.status_code, r.headers)
    assert "Location" not in r.headers
    assert not login_cookies(r)


def test_post_without_session_gets_401(httpd, session):
    r = session.post(httpd.url("/app/"), data={"a": "b"}, headers=BROWSER, allow_redirects=False)
    assert r.status_code == 401
    assert not login_cookies(r)


@pytest.mark.sanitize
def test_callback_sets_session_cookie_and_deletes_login_cookie(httpd):
    s = requests.Session()
    cb = login(s, httpd.base_url, "alice", stop_at_callback=True)
    r = s.get(cb, headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert r.headers["Location"] in ("/app/", httpd.url("/app/"))
    cs = cookies_set(r)
    value, attrs = cs["coinpay_session"]
    assert len(value) >= 32
    assert attrs.get("httponly") is True
    assert str(attrs.get("samesite", "")).lower() == "lax"
    assert attrs.get("path") == "/"
    deleted = [n for n, (v, a) in cs.items() if n.startswith("coinpay_login_")]
    assert deleted, "login cookie not deleted"
    assert all(is_deleted(cs[n][1]) for n in deleted)
    assert "no-store" in r.headers.get("Cache-Control", "")


@pytest.mark.sanitize
def test_cgi_sees_remote_user_and_email_claim(httpd):
    s = signed_in(httpd, "alice")
    r, env = whoami(s, httpd)
    assert r.status_code == 200, r.text
    assert env["REMOTE_USER"] == "alice"
    assert env["AUTH_TYPE"].lower() == "coinpay"
    assert env["COINPAY_CLAIM_sub"] == "alice"
    assert env.get("COINPAY_CLAIM_email") == "alice@example-business.com", r.text


def test_two_users_get_separate_sessions(httpd):
    a = signed_in(httpd, "alice")
    b = signed_in(httpd, "bob")
    assert a.cookies["coinpay_session"] != b.cookies["coinpay_session"]
    assert whoami(a, httpd)[1]["REMOTE_USER"] == "alice"
    assert whoami(b, httpd)[1]["REMOTE_USER"] == "bob"
    assert whoami(a, httpd)[1]["REMOTE_USER"] == "alice"


@pytest.mark.sanitize
@pytest.mark.parametrize("spoof", [
    {"Coinpay-Claim-Email": "evil@example.com"},
    {"Coinpay-Claim-Sub": "root"},
    {"coinpay-claim-sub": "root"},
    {"COINPAY_CLAIM_email": "evil@example.com"},
    {"Coinpay_Claim_Sub": "root"},
    {"Remote-User": "root"},
], ids=lambda d: next(iter(d)))
def test_spoofed_claim_headers_never_reach_cgi(httpd, spoof):
    s = signed_in(httpd, "alice")
    r, env = whoami(s, httpd, headers={**BROWSER, **spoof})
    assert r.status_code == 200
    assert env["REMOTE_USER"] == "alice"
    leaked = [k for k in env if k.startswith("HTTP_COINPAY") or k == "HTTP_REMOTE_USER"]
    assert not leaked, r.text
    assert "evil@example.com" not in r.text and "=root" not in r.text


@pytest.mark.sanitize
def test_forged_session_cookie_gets_login_redirect(httpd, op, session):
    session.cookies.set("coinpay_session", "A" * 43)
    r = session.get(httpd.url("/app/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].startswith(op.issuer + "/oauth/authorize?")


@pytest.mark.sanitize
@pytest.mark.parametrize("return_to", [
    "//evil.example/", "https://evil.example/app/", "http://evil.example", "/\\evil.example",
    "javascript:alert(1)", "\\\\evil.example", "/%2F%2Fevil.example", "", "app/",
])
def test_return_to_offsite_is_ignored(httpd, return_to):
    s = requests.Session()
    cb = login(s, httpd.base_url, "alice",
               start_path="/api/auth/login/coinpay?return_to=" + requests.utils.quote(return_to, safe=""),
               stop_at_callback=True)
    r = s.get(cb, headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, r.text[:300]
    loc = r.headers["Location"]
    parts = urlsplit(loc)
    assert parts.netloc in ("", f"127.0.0.1:{httpd.port}"), loc
    assert parts.path.startswith("/") and not parts.path.startswith("//"), loc
    assert "\\" not in loc and "\t" not in loc and "\n" not in loc, loc
    if return_to in ("", "app/", "/%2F%2Fevil.example"):
        return  # staying on this origin is all that matters (%2F is not a path separator)
    assert parts.path == "/", loc


def test_return_to_same_origin_path_with_query_is_kept(httpd):
    s = requests.Session()
    cb = login(s, httpd.base_url, "alice",
               start_path="/api/auth/login/coinpay?return_to=%2Fcgi-bin%2Fwhoami%3Fa%3D1%26b%3D2",
               stop_at_callback=True)
    r = s.get(cb, headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/cgi-bin/whoami?a=1&b=2")


def test_session_cookie_survives_many_requests(httpd):
    s = signed_in(httpd, "dave")
    for _ in range(20):
        r = s.get(httpd.url("/app/"), headers=BROWSER, allow_redirects=False)
        assert r.status_code == 200


def test_signed_in_xhr_gets_the_resource(httpd):
    s = signed_in(httpd, "alice")
    r = s.get(httpd.url("/app/data.json"),
              headers={"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"},
              allow_redirects=False)
    assert r.status_code == 200 and r.json() == {"ok": True}


def test_login_without_return_to_lands_on_root(httpd):
    s = requests.Session()
    cb = login(s, httpd.base_url, "alice", start_path="/api/auth/login/coinpay",
               stop_at_callback=True)
    r = s.get(cb, headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] in ("/", httpd.url("/"))


def test_user_name_with_spaces_and_unicode_reaches_cgi_unchanged(httpd):
    s = signed_in(httpd, "Zoë Q. O'Brien")
    r, env = whoami(s, httpd)
    assert r.status_code == 200
    assert env["REMOTE_USER"] == "Zoë Q. O'Brien"
    assert env["COINPAY_CLAIM_sub"] == "Zoë Q. O'Brien"


@pytest.mark.parametrize("spoof", [
    {"Coinpay-Claim-Email": "evil@example.com"},
    {"coinpay-claim-sub": "root"},
], ids=lambda d: next(iter(d)))
def test_spoofed_claim_headers_never_reach_unprotected_cgi(httpd, session, spoof):
    """The design says client-supplied claim headers are always removed, not only where
    AuthType coinpay applies."""
    r = session.get(httpd.url("/public-cgi/whoami"), headers={**BROWSER, **spoof},
                    allow_redirects=False)
    assert r.status_code == 200
    assert "HTTP_COINPAY" not in r.text, r.text
