"""Fixtures for the real-browser test: a local OP (oidc-provider), a private httpd with the
module built from this tree, and a headless Chromium driven by Selenium.

Run:  /usr/bin/python3 -m pytest -q tests/browser
      (module: $COINPAY_MODULE or build/mod_coinpay_auth.so;
       browser: $CHROMIUM_BIN or /usr/bin/chromium, $CHROMEDRIVER_BIN or /usr/bin/chromedriver)

Everything started here (OP, httpd, chromedriver + chromium) is stopped in fixture teardown,
also when the test fails. A missing module, Chromium, chromedriver or selenium fails the run
(never a skip). Screenshots go to a fresh temp dir whose path is printed; on
failure a screenshot and the page source of whatever the browser showed are saved there.
"""
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from harness import OP, Httpd, coinpay_directives, free_port, module_path  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")

CLIENT_ID = "browser-rp"
CLIENT_SECRET = "browser-rp-secret-0123456789"
PASSPHRASE = "browser-passphrase-0123456789abcdef"


def _missing():
    if not os.path.exists(module_path()):
        return f"module not built: {module_path()}"
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.access(exe, os.X_OK):
            return f"not installed: {exe}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "python selenium not installed (Debian: python3-selenium)"
    return None


def pytest_collection_modifyitems(config, items):
    # A missing dependency fails the run with its name (exit status 4), never skips.
    reason = _missing() if items else None
    if reason:
        raise pytest.UsageError(f"browser test cannot run: {reason} (scripts/install-deps.sh)")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets the `browser` fixture know whether the test body failed (for the failure screenshot).
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def shots_dir():
    d = tempfile.mkdtemp(prefix="coinpay-browser-shots-")
    print(f"\nscreenshots: {d}")
    return d


@pytest.fixture
def op_and_httpd():
    """(op, httpd): the OP knows the httpd's redirect URI and post-logout URI.

    The httpd does RP-Initiated Logout (CoinpayPostLogoutRedirectURI), so signing out also
    ends the session at the provider and the next visit shows the provider's login form.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    redirect_uri = base + "/api/auth/callback/coinpay"
    op = OP([{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "redirect_uris": [redirect_uri],
              "post_logout_redirect_uris": [base + "/", base + "/bye"]}], quiet=False)
    httpd = None
    try:
        op.start()
        httpd = Httpd(port, coinpay=coinpay_directives(
            op.issuer, CLIENT_ID, CLIENT_SECRET, redirect_uri, passphrase=PASSPHRASE,
            extra=f"CoinpayPostLogoutRedirectURI {base}/"))
        httpd.start()
        yield op, httpd
    finally:
        if httpd is not None:
            httpd.stop()
            # Keep the logs visible on failure: print their tails before removing the tree.
            print("\n--- httpd error log (tail) ---\n" + "\n".join(httpd.error_log_lines()[-40:]))
            print("--- httpd access log ---\n" + "\n".join(httpd.access_log_lines()[-60:]))
            httpd.cleanup()
        print("--- OP log (tail) ---\n" + op.log_tail(60))
        op.cleanup()


@pytest.fixture
def browser(request, shots_dir):
    """A fresh headless Chromium (own profile dir, own chromedriver on a free port)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="coinpay-chromium-profile-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1100,800",
                f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    service = Service(CHROMEDRIVER, port=free_port(),
                      log_output=os.path.join(shots_dir, "chromedriver.log"))
    driver = None
    try:
        driver = webdriver.Chrome(service=service, options=opts)
        driver.set_page_load_timeout(20)
        yield driver
    finally:
        if driver is not None:
            rep = getattr(request.node, "rep_call", None)
            if rep is None or rep.failed:
                try:
                    path = os.path.join(shots_dir, "failure.png")
                    driver.save_screenshot(path)
                    with open(os.path.join(shots_dir, "failure.html"), "w") as f:
                        f.write(driver.page_source)
                    print(f"\nfailure screenshot: {path} (page was {driver.current_url})")
                except Exception as e:  # the browser may be what failed
                    print(f"\nno failure screenshot: {e!r}")
            try:
                driver.quit()
            except Exception as e:
                print(f"driver.quit failed: {e!r}")
        service.stop()  # idempotent; also covers a webdriver.Chrome() that failed to start
        shutil.rmtree(profile, ignore_errors=True)
