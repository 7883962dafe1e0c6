"""The callback endpoint refuses everything that is not the answer to this browser's own
login attempt (real OP)."""
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from e2e_util import BROWSER, cookies_set, login_cookies, query, start_login
from harness import login


def _to_callback(httpd, user="alice"):
    s = requests.Session()
    cb = login(s, httpd.base_url, user, stop_at_callback=True)
    return s, cb


def _callback_with(httpd, **params):
    return httpd.url("/api/auth/callback/coinpay") + "?" + urlencode(params)


def _assert_short_error_page(r, status, *must_not_echo):
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert "coinpay_session" not in cookies_set(r) or cookies_set(r)["coinpay_session"][0] == ""
    assert len(r.text) < 4096
    for s in must_not_echo:
        assert s not in r.text


def _no_session(session, httpd, op):
    r = session.get(httpd.url("/app/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(op.issuer), \
        "a refused callback must not leave a session behind"


@pytest.mark.sanitize
def test_missing_state_cookie_gets_400(httpd, op):
    _, cb = _to_callback(httpd)
    other = requests.Session()  # a different browser: no login cookie
    r = other.get(cb, headers=BROWSER, allow_redirects=False)
    _assert_short_error_page(r, 400, query(cb)["state"], query(cb)["code"])
    _no_session(other, httpd, op)


@pytest.mark.sanitize
def test_forged_state_cookie_gets_400(httpd, op):
    s, cb = _to_callback(httpd)
    (c,) = [c for c in s.cookies if c.name.startswith("coinpay_login_")]
    value = c.value
    mid = len(value) // 2
    forged = value[:mid] + ("A" if value[mid] != "A" else "B") + value[mid + 1:]
    s.cookies.set(c.name, forged, domain=c.domain, path=c.path)
    assert [x.value for x in s.cookies if x.name == c.name] == [forged]
    r = s.get(cb, headers=BROWSER, allow_redirects=False)
    _assert_short_error_page(r, 400, query(cb)["state"])
    _no_session(s, httpd, op)


@pytest.mark.sanitize
def test_garbage_state_cookie_gets_400(httpd, op):
    s, cb = _to_callback(httpd)
    for c in list(s.cookies):
        if c.name.startswith("coinpay_login_"):
            s.cookies.set(c.name, "not-a-sealed-value", domain=c.domain, path=c.path)
    r = s.get(cb, headers=BROWSER, allow_redirects=False)
    _assert_short_error_page(r, 400)


@pytest.mark.sanitize
def test_state_from_another_attempt_gets_400(httpd, op):
    s, cb = _to_callback(httpd)
    q = query(cb)
    other_state = query(start_login(requests.Session(), httpd)[1])["state"]
    r = s.get(_callback_with(httpd, code=q["code"], state=other_state), headers=BROWSER,
              allow_redirects=False)
    _assert_short_error_page(r, 400, other_state)


def test_missing_state_parameter_gets_400(httpd, op):
    s, cb = _to_callback(httpd)
    r = s.get(_callback_with(httpd, code=query(cb)["code"]), headers=BROWSER,
              allow_redirects=False)
    _assert_short_error_page(r, 400)


@pytest.mark.sanitize
@pytest.mark.parametrize("dup", ["state", "code"])
def test_duplicated_query_params_get_400(httpd, op, dup):
    s, cb = _to_callback(httpd)
    r = s.get(cb + f"&{dup}=second-value", headers=BROWSER, allow_redirects=False)
    _assert_short_error_page(r, 400, "second-value")
    _no_session(s, httpd, op)


def test_error_page_echoes_no_input(httpd, session):
    evil = "<script>alert(1)</script>"
    r = session.get(_callback_with(httpd, code=evil, state=evil), headers=BROWSER,
                    allow_redirects=False)
    _assert_short_error_page(r, 400, evil, "alert(1)")


@pytest.mark.sanitize
def test_provider_error_gets_403(httpd, op):
    s = requests.Session()
    _, _, q = start_login(s, httpd)
    evil = "<b>denied</b>"
    r = s.get(_callback_with(httpd, error="access_denied", error_description=evil,
                             state=q["state"]), headers=BROWSER, allow_redirects=False)
    _assert_short_error_page(r, 403, evil)
    _no_session(s, httpd, op)


@pytest.mark.sanitize
def test_replayed_code_is_refused(httpd, op):
    s, cb = _to_callback(httpd)
    saved = [(c.name, c.value, c.domain, c.path) for c in s.cookies
             if c.name.startswith("coinpay_login_")]
    r = s.get(cb, headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302
    # An attacker who saw the callback URL and the login cookie replays both.
    attacker = requests.Session()
    for name, value, domain, path in saved:
        attacker.cookies.set(name, value, domain=domain, path=path)
    op.reset_stats()
    r2 = attacker.get(cb, headers=BROWSER, allow_redirects=False)
    assert r2.status_code in (400, 401, 403, 502), (r2.status_code, r2.text[:300])
    assert not cookies_set(r2).get("coinpay_session", ("",))[0], "replay produced a session"
    _no_session(attacker, httpd, op)


@pytest.mark.sanitize
def test_unknown_code_is_refused(httpd, op):
    s, cb = _to_callback(httpd)
    r = s.get(_callback_with(httpd, code="A" * 43, state=query(cb)["state"]), headers=BROWSER,
              allow_redirects=False)
    assert r.status_code in (400, 401, 403, 502), (r.status_code, r.text[:300])
    assert not cookies_set(r).get("coinpay_session", ("",))[0]
    assert op.stats()["token_errors"].get("authorization_code", 0) >= 1


def test_two_parallel_login_attempts_both_complete(httpd):
    """Two tabs start a login; each callback matches its own login cookie."""
    s = requests.Session()
    cb1 = login(s, httpd.base_url, "alice", stop_at_callback=True,
                start_path="/api/auth/login/coinpay?return_to=/app/")
    cb2 = login(s, httpd.base_url, "alice", stop_at_callback=True,
                start_path="/api/auth/login/coinpay?return_to=/cgi-bin/whoami")
    assert len([c for c in s.cookies if c.name.startswith("coinpay_login_")]) == 2
    r1 = s.get(cb1, headers=BROWSER, allow_redirects=False)
    assert r1.status_code == 302 and urlsplit(r1.headers["Location"]).path == "/app/"
    r2 = s.get(cb2, headers=BROWSER, allow_redirects=False)
    assert r2.status_code == 302 and urlsplit(r2.headers["Location"]).path == "/cgi-bin/whoami"


@pytest.mark.sanitize
def test_callback_with_many_junk_login_cookies_gets_400(httpd, session):
    cookie = "; ".join(f"coinpay_login_{i}={'x' * 50}" for i in range(100))
    r = session.get(_callback_with(httpd, code="abc", state="def"),
                    headers={**BROWSER, "Cookie": cookie}, allow_redirects=False)
    _assert_short_error_page(r, 400)


@pytest.mark.sanitize
def test_callback_with_oversized_login_cookie_gets_400(httpd, session):
    r = session.get(_callback_with(httpd, code="abc", state="def"),
                    headers={**BROWSER, "Cookie": "coinpay_login_a=" + "A" * 7000},
                    allow_redirects=False)
    _assert_short_error_page(r, 400)
