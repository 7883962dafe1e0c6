"""CoinpayLocationIdleTimeout: a stricter idle limit for one location (real OP).

The module writes a session's last-use time back at most once a minute, so an idle limit is
only meaningful from a minute up; the test waits a little over one minute of real time (the
provider's and the module's clocks are real). It is the one slow test of the e2e suite.
"""
import time

from conftest import start_checked
from e2e_util import API, BROWSER, signed_in

LIMIT = 60
STRICT = f"""
Alias /strict "{{root}}/htdocs/app"
<Location /strict>
    AuthType coinpay
    Require valid-user
    CoinpayLocationIdleTimeout {LIMIT}
</Location>
"""


def test_idle_limit_of_a_location_asks_for_sign_in_there_but_not_elsewhere(op, httpd_port,
                                                                           new_httpd):
    h = new_httpd(op.issuer, port=httpd_port)
    h.extra_conf = STRICT.replace("{root}", h.root)
    start_checked(h)
    s = signed_in(h, "idler")
    r = s.get(h.url("/strict/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.headers.get("Location"))   # fresh: fine
    time.sleep(LIMIT + 1.5)   # idle: no request at all, anywhere
    r = s.get(h.url("/strict/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, ("a session idle past the location's limit still opens it",
                                  r.status_code)
    assert r.headers["Location"].startswith(op.url("/oauth/authorize")), r.headers["Location"]
    # The session itself is alive (the server-wide idle limit is an hour): elsewhere it works.
    r = s.get(h.url("/app/data.json"), headers=API, allow_redirects=False)
    assert r.status_code == 200, r.status_code
    r = s.get(h.url("/app/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 200, r.status_code
