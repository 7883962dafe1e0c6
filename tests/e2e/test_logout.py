"""Signing out (real OP)."""
from urllib.parse import urlsplit

import pytest
import requests

from conftest import CLIENT_ID, CLIENT_SECRET, PASSPHRASE
from e2e_util import BROWSER, cookies_set, is_deleted, signed_in, whoami


def _logout(s, httpd, return_to="/bye"):
    return s.get(httpd.url("/api/auth/logout/coinpay"), params={"return_to": return_to},
                 headers=BROWSER, allow_redirects=False)


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
