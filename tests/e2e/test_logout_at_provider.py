"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and per-location session limits,
against the real OP."""
from urllib.parse import parse_qs, urlsplit

from conftest import CLIENT_ID, start_checked
from e2e_util import BROWSER, signed_in


def test_logout_ends_the_provider_session_with_a_correct_end_session_redirect(
        op, httpd_port, new_httpd):
    back = f"http://127.0.0.1:{httpd_port}/bye"
    h = start_checked(new_httpd(op.issuer, port=httpd_port,
                                extra_coinpay=f"CoinpayPostLogoutRedirectURI {back}"))
    s = signed_in(h, "erin")
    r = s.get(h.url("/api/auth/logout/coinpay"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302
    loc = urlsplit(r.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == op.url("/oauth/logout")
    q = parse_qs(loc.query)
    assert q["client_id"] == [CLIENT_ID]
    assert q["post_logout_redirect_uri"] == [back]
    assert len(q["state"][0]) >= 16 and q["id_token_hint"][0].count(".") == 2
    # The provider accepts the hint and, after its confirmation, sends the browser back to us.
    page = s.get(r.headers["Location"], timeout=10)
    assert page.status_code == 200 and "xsrf" in page.text


def test_location_max_age_asks_for_a_fresh_sign_in_only_there(op, httpd_port, new_httpd):
    strict = """
<Location /app/strict>
    CoinpayLocationMaxAge 1
</Location>
"""
    h = new_httpd(op.issuer, port=httpd_port)
    h.extra_conf = strict
    start_checked(h)
    s = signed_in(h, "frank")
    import time
    time.sleep(1.2)  # the provider and module clocks are real: wait past the 1 s limit
    assert s.get(h.url("/app/"), headers=BROWSER, allow_redirects=False).status_code == 200
    r = s.get(h.url("/app/strict/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(op.url("/oauth/authorize"))
