"""The whole sign-in journey in a real (headless) Chromium: protected page -> CoinPay (the local
OP) login and consent forms -> back on the protected page -> CGI sees who is signed in ->
session cookie is HttpOnly + SameSite=Lax -> sign out (also at the provider) -> cookie gone ->
the protected page sends the browser to the provider's login form again.
"""
import os
from urllib.parse import parse_qs, urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

USER = "carol"
PASSWORD = "correct horse battery staple"
WAIT = 15  # seconds for any one page to show up


def _origin(url):
    s = urlsplit(url)
    return f"{s.scheme}://{s.netloc}"


def _wait_for(driver, css, what):
    try:
        return WebDriverWait(driver, WAIT).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, css)))
    except Exception:
        raise AssertionError(f"{what}: no {css!r} at {driver.current_url}\n"
                             f"{driver.page_source[:1500]}") from None


def _submit(driver, form_css="form"):
    """Click the form's submit button, the way a user would."""
    form = driver.find_element(By.CSS_SELECTOR, form_css)
    buttons = form.find_elements(By.CSS_SELECTOR, "button[type=submit], input[type=submit], "
                                                  "button:not([type])")
    assert buttons, f"no submit button in {form_css} at {driver.current_url}"
    buttons[0].click()


def _session_cookie(driver):
    return next((c for c in driver.get_cookies() if c["name"] == "coinpay_session"), None)


def _assert_on_op_login_form(driver, op, when):
    field = _wait_for(driver, "input[name=login]", f"{when}: OP login form")
    assert _origin(driver.current_url) == _origin(op.issuer), \
        f"{when}: login form not served by the OP: {driver.current_url}"
    return field


def test_user_signs_in_sees_protected_pages_and_signs_out(op_and_httpd, browser, shots_dir):
    op, httpd = op_and_httpd
    driver = browser
    app = httpd.url("/app/")

    # 1. The protected page sends the browser to CoinPay's login form.
    driver.get(app)
    login = _assert_on_op_login_form(driver, op, "first visit to /app/")
    assert _session_cookie(driver) is None

    # 2. The user types a login and password and submits.
    login.send_keys(USER)
    driver.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(PASSWORD)
    _submit(driver)

    # 3. Consent page: the user allows the app.
    _wait_for(driver, "input[name=prompt][value=consent]", "consent page")
    assert _origin(driver.current_url) == _origin(op.issuer)
    assert "Authorize" in driver.page_source or "consent" in driver.page_source.lower()
    _submit(driver)

    # 4. Back on the protected page, on the relying party, at the URL first asked for.
    heading = _wait_for(driver, "h1#protected", "protected page after consent")
    assert heading.text == "Protected page"
    assert driver.current_url == app, driver.current_url
    assert "You are signed in with CoinPay." in driver.find_element(By.TAG_NAME, "body").text
    shot = os.path.join(shots_dir, "protected-page.png")
    assert driver.save_screenshot(shot), "screenshot failed"
    print(f"protected page screenshot: {shot}")

    # 5. The application (CGI) sees who is signed in.
    driver.get(httpd.url("/cgi-bin/whoami"))
    body = driver.find_element(By.TAG_NAME, "body").text
    env = dict(line.split("=", 1) for line in body.splitlines() if "=" in line)
    assert env.get("REMOTE_USER") == USER, body
    assert env.get("COINPAY_CLAIM_email") == f"{USER}@example-business.com", body
    assert env.get("AUTH_TYPE", "").lower() == "coinpay", body
    driver.save_screenshot(os.path.join(shots_dir, "whoami.png"))

    # 6. The session cookie, as the browser stored it.
    cookie = _session_cookie(driver)
    assert cookie is not None, f"no coinpay_session cookie; jar: {driver.get_cookies()}"
    assert cookie.get("httpOnly") is True, cookie
    assert cookie.get("sameSite") == "Lax", cookie
    assert cookie.get("path") == "/", cookie
    assert cookie.get("secure") is False, cookie  # plain http on loopback
    # No sign-in state cookie is left behind once the login is complete.
    leftovers = [c["name"] for c in driver.get_cookies() if c["name"].startswith("coinpay_login")]
    assert not leftovers, leftovers
    # Scripts on the page cannot read it.
    assert "coinpay_session" not in driver.execute_script("return document.cookie")

    # 7. Sign out. The module ends the local session at once and sends the browser to the
    #    provider's end-session endpoint (RP-Initiated Logout), which asks for confirmation.
    driver.get(httpd.url("/api/auth/logout/coinpay?return_to=/"))
    assert _session_cookie(driver) is None, "coinpay_session survived logout"
    if _origin(driver.current_url) == _origin(op.issuer):
        _wait_for(driver, "button[name=logout], input[name=logout]", "OP sign-out confirmation")
        driver.save_screenshot(os.path.join(shots_dir, "op-logout-confirm.png"))
        driver.find_element(By.CSS_SELECTOR, "button[name=logout], input[name=logout]").click()
    _wait_for(driver, "h1#home", "home page after sign-out")
    # The provider returns to the registered post_logout_redirect_uri, echoing `state`.
    back = urlsplit(driver.current_url)
    assert _origin(driver.current_url) == httpd.base_url and back.path == "/", driver.current_url
    assert set(parse_qs(back.query)) <= {"state"}, driver.current_url
    assert _session_cookie(driver) is None, "coinpay_session came back after logout"
    assert op.stats()["end_session_calls"] >= 1

    # 8. The protected page asks for a login again.
    driver.get(app)
    _assert_on_op_login_form(driver, op, "/app/ after sign-out")
    assert _session_cookie(driver) is None
    driver.save_screenshot(os.path.join(shots_dir, "login-again.png"))

    # 9. Nothing unexpected in httpd's error log.
    problems = httpd.error_log_problems()
    assert not problems, "unexpected error-log lines:\n" + "\n".join(problems)
