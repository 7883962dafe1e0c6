"""Operators replace the module's error pages: one template for every error
(CoinpayErrorTemplate) or a whole page per error kind (CoinpayErrorPage). Status codes and
headers stay the module's, and no page ever shows what the request sent."""
import requests

from conftest import start_checked
from e2e_util import BROWSER
from harness import Httpd, coinpay_directives, free_port, login
from harness.vhosts import virtual_host, vhost_get

TEMPLATE = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>{{title}}</title></head>'
            '<body class="operator" data-kind="{{kind}}"><h1>Example Corp: {{ title }}</h1>'
            '<p id="status">{{status}}</p><p id="message">{{message}}</p>'
            '<a href="{{link_href}}">{{link_text}}</a></body></html>\n')
EXPIRED_PAGE = ('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
                '<h1>Anmeldung abgelaufen – bitte erneut versuchen</h1></body></html>\n')
SCRIPT = "<script>alert(1)</script>"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)
    return str(path)


def _template(tmp_path):
    return f"CoinpayErrorTemplate {_write(tmp_path, 'error.html', TEMPLATE)}"


def _assert_page_headers(r, status):
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["Cache-Control"] == "no-store"
    # No charset: the page's own <meta charset> decides (httpd would say iso-8859-1).
    assert r.headers["Content-Type"] == "text/html"


def _assert_template(r, kind, status, title):
    assert 'class="operator"' in r.text, r.text[:300]
    assert f'data-kind="{kind}"' in r.text
    assert f'<p id="status">{status}</p>' in r.text
    assert f"<h1>Example Corp: {title}</h1>" in r.text
    assert "{{" not in r.text


def _replayed_callback(h):
    """Signs in, then opens the same callback URL again: its login attempt is over."""
    s = requests.Session()
    cb = login(s, h.base_url, "alice", stop_at_callback=True)
    assert s.get(cb, headers=BROWSER, allow_redirects=False).status_code == 302
    return s.get(cb, headers=BROWSER, allow_redirects=False)


def test_template_shows_the_login_expired_page_of_a_replayed_callback(op, httpd_port, new_httpd,
                                                                      tmp_path):
    h = start_checked(new_httpd(op.issuer, port=httpd_port, extra_coinpay=_template(tmp_path)))
    r = _replayed_callback(h)
    _assert_page_headers(r, 400)
    _assert_template(r, "login_expired", 400, "Sign-in did not complete")
    assert "This sign-in link has expired or was started elsewhere." in r.text
    assert '<a href="/">Start again</a>' in r.text


def test_template_keeps_the_sign_in_required_challenge(op, httpd_port, new_httpd, tmp_path):
    h = start_checked(new_httpd(op.issuer, port=httpd_port, extra_coinpay=_template(tmp_path)))
    r = requests.get(h.url("/app/"), headers={"Accept": "application/json"},
                     allow_redirects=False)
    _assert_page_headers(r, 401)
    assert r.headers["WWW-Authenticate"] == 'Coinpay realm="sign-in"'
    _assert_template(r, "login_required", 401, "Sign-in required")


def test_template_shows_the_provider_error_page(bad_op, new_httpd, tmp_path, allow_log):
    allow_log.append("CPA00129:")  # the token endpoint answers 500: an error for the operator
    h = start_checked(new_httpd(bad_op.issuer, extra_coinpay=_template(tmp_path)))
    bad_op.set(defect="token_500")
    s = requests.Session()
    cb = login(s, h.base_url, "mallory", stop_at_callback=True)
    r = s.get(cb, headers=BROWSER, allow_redirects=False)
    _assert_page_headers(r, 502)
    _assert_template(r, "provider_unavailable", 502, "Sign-in is unavailable")
    assert "The sign-in provider could not be reached." in r.text


def test_page_for_one_kind_is_served_as_is_and_other_kinds_use_the_template(
        op, httpd_port, new_httpd, tmp_path):
    expired = _write(tmp_path, "expired.html", EXPIRED_PAGE)
    h = start_checked(new_httpd(op.issuer, port=httpd_port, extra_coinpay=(
        _template(tmp_path) + f"\nCoinpayErrorPage login_expired {expired}")))
    r = _replayed_callback(h)
    _assert_page_headers(r, 400)
    assert r.content == EXPIRED_PAGE.encode("utf-8")
    r = requests.get(h.url("/app/"), headers={"Accept": "application/json"},
                     allow_redirects=False)
    _assert_page_headers(r, 401)
    _assert_template(r, "login_required", 401, "Sign-in required")


def test_page_for_one_kind_leaves_other_kinds_built_in(op, httpd_port, new_httpd, tmp_path):
    expired = _write(tmp_path, "expired.html", EXPIRED_PAGE)
    h = start_checked(new_httpd(op.issuer, port=httpd_port,
                                extra_coinpay=f"CoinpayErrorPage login_expired {expired}"))
    assert _replayed_callback(h).content == EXPIRED_PAGE.encode("utf-8")
    r = requests.get(h.url("/app/"), headers={"Accept": "application/json"},
                     allow_redirects=False)
    _assert_page_headers(r, 401)
    assert "<h1>Sign-in required</h1>" in r.text and "operator" not in r.text


def test_page_that_starts_like_a_url_is_still_served_as_a_page(op, httpd_port, new_httpd,
                                                               tmp_path):
    # httpd would take a custom response "Note: ..." or "/x" for a redirect target.
    for text in ("Note: please sign in first.\n", "/app/ needs a sign-in.\n"):
        page = _write(tmp_path, "required.txt", text)
        h = start_checked(new_httpd(op.issuer, port=httpd_port,
                                    extra_coinpay=f"CoinpayErrorPage login_required {page}"))
        r = requests.get(h.url("/app/"), headers={"Accept": "application/json"},
                         allow_redirects=False)
        _assert_page_headers(r, 401)
        assert "Location" not in r.headers
        assert r.text.strip() == text.strip()
        h.stop()


def test_each_virtual_host_serves_its_own_pages(op, new_httpd, tmp_path):
    port = free_port()
    main = _write(tmp_path, "main.html", "<p>main site: {{kind}}</p>\n")
    shop = _write(tmp_path, "shop.html", "<p>shop: {{kind}}</p>\n")
    vhosts = (virtual_host("www.example", port) +
              virtual_host("shop.example", port, f"CoinpayErrorTemplate {shop}"))
    h = start_checked(new_httpd(op.issuer, port=port, extra_conf=vhosts,
                                extra_coinpay=f"CoinpayErrorTemplate {main}"))
    for name, page in (("www.example", "<p>main site: login_required</p>\n"),
                       ("shop.example", "<p>shop: login_required</p>\n")):
        r = vhost_get(port, name, "/app/", headers={"Accept": "application/json"})
        _assert_page_headers(r, 401)
        assert r.text.strip() == page.strip(), (name, r.text)
    assert h.running


def test_pages_never_echo_request_input(op, httpd_port, new_httpd, tmp_path):
    h = start_checked(new_httpd(op.issuer, port=httpd_port, extra_coinpay=_template(tmp_path)))
    attempts = [
        # a state no login cookie matches: login_expired
        ("/api/auth/callback/coinpay", {"state": SCRIPT + "x" * 16, "code": SCRIPT}, 400,
         "login_expired"),
        # no usable state: bad_request
        ("/api/auth/callback/coinpay", {"code": SCRIPT, "iss": SCRIPT}, 400, "bad_request"),
        # a repeated return_to: bad_request
        ("/api/auth/login/coinpay", [("return_to", "/app/"), ("return_to", SCRIPT)], 400,
         "bad_request"),
    ]
    for path, params, status, kind in attempts:
        r = requests.get(h.url(path), params=params, headers=BROWSER, allow_redirects=False)
        _assert_page_headers(r, status)
        assert f'data-kind="{kind}"' in r.text, r.text[:300]
        assert "script" not in r.text.lower(), r.text
        assert "alert" not in r.text


def _configtest(coinpay_extra, tmp_path):
    port = free_port()
    d = coinpay_directives("http://127.0.0.1:1", "rp", "rp-secret-0123456789",
                           f"http://127.0.0.1:{port}/api/auth/callback/coinpay",
                           passphrase="e2e-passphrase-0123456789abcdef0123", extra=coinpay_extra)
    root = tmp_path / "httpd"
    root.mkdir()
    return Httpd(port, coinpay=d, root=str(root)).configtest()


def test_apachectl_t_accepts_error_pages(tmp_path):
    expired = _write(tmp_path, "expired.html", EXPIRED_PAGE)
    rc, out = _configtest(_template(tmp_path) + f"\nCoinpayErrorPage login_expired {expired}",
                          tmp_path)
    assert rc == 0, out


def test_apachectl_t_refuses_a_missing_template_naming_the_directive(tmp_path):
    missing = str(tmp_path / "missing.html")
    rc, out = _configtest(f"CoinpayErrorTemplate {missing}", tmp_path)
    assert rc != 0, out
    assert f"CoinpayErrorTemplate cannot read {missing} (No such file or directory)" in out, out


def test_apachectl_t_refuses_a_missing_page_naming_the_directive(tmp_path):
    missing = str(tmp_path / "missing.html")
    rc, out = _configtest(f"CoinpayErrorPage login_expired {missing}", tmp_path)
    assert rc != 0, out
    assert f"CoinpayErrorPage cannot read {missing} (No such file or directory)" in out, out


def test_apachectl_t_refuses_an_unknown_kind(tmp_path):
    page = _write(tmp_path, "p.html", EXPIRED_PAGE)
    rc, out = _configtest(f"CoinpayErrorPage expired {page}", tmp_path)
    assert rc != 0, out
    assert 'CoinpayErrorPage does not know the error kind "expired"; write one of bad_request' \
        in out, out


def test_apachectl_t_refuses_a_page_line_without_its_two_arguments(tmp_path):
    rc, out = _configtest("CoinpayErrorPage login_expired", tmp_path)
    assert rc != 0, out
    assert "CoinpayErrorPage takes two arguments" in out, out


def test_apachectl_t_refuses_an_unknown_placeholder(tmp_path):
    t = _write(tmp_path, "t.html", "<p>{{user}}</p>")
    rc, out = _configtest(f"CoinpayErrorTemplate {t}", tmp_path)
    assert rc != 0, out
    assert f"CoinpayErrorTemplate {t} uses the unknown placeholder {{{{user}}}}" in out, out


def test_apachectl_t_refuses_an_oversized_page(tmp_path):
    big = _write(tmp_path, "big.html", "x" * (64 * 1024 + 1))
    rc, out = _configtest(f"CoinpayErrorTemplate {big}", tmp_path)
    assert rc != 0, out
    assert f"CoinpayErrorTemplate {big} is larger than 64 KiB" in out, out
