"""Signing out (real OP)."""
import re
from urllib.parse import urlsplit

import pytest
import requests

from conftest import CLIENT_ID, CLIENT_SECRET, PASSPHRASE
from e2e_util import BROWSER, cookies_set, is_deleted, signed_in, whoami


def _logout(s, httpd, return_to="/bye"):
    return s.get(httpd.url("/api/auth/logout/coinpay"), params={"return_to": return_to},
                 headers=BROWSER, allow_redirects=False)


@pytest.mark.sanitize
def test_logout_revokes_refresh_token_at_provider(httpd, op):
    op.reset_stats()
    s = signed_in(httpd, "alice")
    st = op.stats()
    assert len(st["refresh_tokens_issued"]) == 1, st
    rt = st["refresh_tokens_issued"][0]
    assert op.introspect(rt, CLIENT_ID, CLIENT_SECRET)["active"] is True
    r = _logout(s, httpd)
    assert r.status_code == 302
    st = op.stats()
    assert st["revocations"] == 1, st
    assert st["revoked_tokens"] == [rt]
    assert op.introspect(rt, CLIENT_ID, CLIENT_SECRET)["active"] is False


def test_logout_clears_cookie_and_redirects_to_return_to(httpd):
    s = signed_in(httpd, "alice")
    r = _logout(s, httpd, "/bye")
    assert r.status_code == 302
    assert r.headers["Location"] in ("/bye", httpd.url("/bye"))
    value, attrs = cookies_set(r)["coinpay_session"]
    assert is_deleted(attrs) and attrs.get("path") == "/"
    assert "no-store" in r.headers.get("Cache-Control", "")


@pytest.mark.sanitize
def test_old_session_cookie_after_logout_gets_login_redirect(httpd, op):
    s = signed_in(httpd, "alice")
    old = s.cookies["coinpay_session"]
    _logout(s, httpd)
    thief = requests.Session()
    thief.cookies.set("coinpay_session", old)
    r = thief.get(httpd.url("/app/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(op.issuer)
    r = thief.get(httpd.url("/app/data.json"), headers={"Accept": "application/json"},
                  allow_redirects=False)
    assert r.status_code == 401


def test_signed_out_user_can_sign_in_again(httpd):
    s = signed_in(httpd, "alice")
    _logout(s, httpd)
    s2 = signed_in(httpd, "alice")
    assert whoami(s2, httpd)[1]["REMOTE_USER"] == "alice"


@pytest.mark.parametrize("return_to", ["https://evil.example/", "//evil.example/x",
                                       "/\\evil.example", "javascript:alert(1)"])
def test_logout_return_to_offsite_goes_to_root(httpd, return_to):
    s = signed_in(httpd, "alice")
    r = _logout(s, httpd, return_to)
    assert r.status_code == 302
    loc = r.headers["Location"]
    assert urlsplit(loc).path == "/" and urlsplit(loc).netloc in ("", f"127.0.0.1:{httpd.port}"), loc


def test_logout_without_session_just_redirects(httpd, op, session):
    op.reset_stats()
    r = _logout(session, httpd)
    assert r.status_code == 302 and r.headers["Location"] in ("/bye", httpd.url("/bye"))
    assert op.stats()["revocations"] == 0


def test_logout_of_one_session_leaves_other_signed_in(httpd):
    a = signed_in(httpd, "alice")
    b = signed_in(httpd, "alice")
    _logout(a, httpd)
    r, env = whoami(b, httpd)
    assert r.status_code == 200 and env["REMOTE_USER"] == "alice"


def test_tokens_and_secrets_never_appear_in_error_log(httpd, op):
    """Even at LogLevel coinpay_auth:debug, no token, session id or secret is logged whole."""
    op.reset_stats()
    s = signed_in(httpd, "henry")
    sid = s.cookies["coinpay_session"]
    whoami(s, httpd)
    _logout(s, httpd)
    rt = op.stats()["refresh_tokens_issued"][0]
    log = httpd.error_log_text()
    for secret in (rt, sid, CLIENT_SECRET, PASSPHRASE):
        assert secret not in log


def _confirmation_token(page):
    m = re.search(r'<form method="post"><input type="hidden" name="csrf" value="([A-Za-z0-9_-]+)">',
                  page)
    assert m, page
    return m.group(1)


def test_logout_link_from_another_site_asks_first_and_the_session_survives(httpd, op):
    op.reset_stats()
    s = signed_in(httpd, "alice")
    r = s.get(httpd.url("/api/auth/logout/coinpay"), params={"return_to": "/bye<script>"},
              headers={**BROWSER, "Sec-Fetch-Site": "cross-site"}, allow_redirects=False)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "no-store" in r.headers.get("Cache-Control", "")
    assert "frame-ancestors 'none'" in r.headers.get("Content-Security-Policy", "")
    assert "Set-Cookie" not in r.headers
    assert "script" not in r.text and "bye" not in r.text  # nothing of the request echoed
    _confirmation_token(r.text)
    assert op.stats()["revocations"] == 0
    resp, env = whoami(s, httpd)
    assert resp.status_code == 200 and env["REMOTE_USER"] == "alice"


def test_the_confirmation_pages_button_signs_out(httpd, op):
    op.reset_stats()
    s = signed_in(httpd, "alice")
    url = httpd.url("/api/auth/logout/coinpay?return_to=/bye")
    page = s.get(url, headers={**BROWSER, "Sec-Fetch-Site": "cross-site"}, allow_redirects=False)
    token = _confirmation_token(page.text)
    # What the browser sends for <form method="post"> without an action: the page's own URL.
    r = s.post(url, data={"csrf": token}, allow_redirects=False,
               headers={**BROWSER, "Sec-Fetch-Site": "same-origin",
                        "Origin": httpd.url("").rstrip("/")})
    assert r.status_code == 302 and r.headers["Location"] in ("/bye", httpd.url("/bye"))
    assert is_deleted(cookies_set(r)["coinpay_session"][1])
    assert op.stats()["revocations"] == 1
    assert whoami(s, httpd)[0].status_code != 200


@pytest.mark.sanitize
def test_logout_post_without_the_sessions_token_is_refused(httpd, op):
    op.reset_stats()
    s = signed_in(httpd, "alice")
    url = httpd.url("/api/auth/logout/coinpay")
    other = signed_in(httpd, "bob")
    page = other.get(url, headers={**BROWSER, "Sec-Fetch-Site": "cross-site"},
                     allow_redirects=False)
    for data in ({}, {"csrf": "x" * 43}, {"csrf": _confirmation_token(page.text)}):
        r = s.post(url, data=data, headers=BROWSER, allow_redirects=False)
        assert r.status_code == 403, data
        assert "Set-Cookie" not in r.headers
        assert "no-store" in r.headers.get("Cache-Control", "")
    assert op.stats()["revocations"] == 0
    assert whoami(s, httpd)[1]["REMOTE_USER"] == "alice"


@pytest.mark.parametrize("site", ["same-origin", "same-site", "none"])
def test_logout_link_from_this_site_signs_out_at_once(httpd, site):
    s = signed_in(httpd, "alice")
    r = s.get(httpd.url("/api/auth/logout/coinpay"), params={"return_to": "/bye"},
              headers={**BROWSER, "Sec-Fetch-Site": site}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] in ("/bye", httpd.url("/bye"))
    assert is_deleted(cookies_set(r)["coinpay_session"][1])
    assert whoami(s, httpd)[0].status_code != 200


def test_logout_answers_other_methods_with_405(httpd):
    r = requests.put(httpd.url("/api/auth/logout/coinpay"), data="x", allow_redirects=False,
                     timeout=10)
    assert r.status_code == 405
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
