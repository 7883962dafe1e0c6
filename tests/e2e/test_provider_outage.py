"""A provider outage is not a site outage (issue 10).

The misbehaving OP's token endpoint takes each request and never answers, while signed-in users
whose access tokens have expired hit a static page and a CGI location that receives the access
token (CoinpayPassAccessToken On). The static page needs no token, so it never asks the provider
and answers 200. The token-passing location fails after one HTTP timeout (502) until the
provider's circuit breaker opens in each httpd process; from then on it answers 503 with
Retry-After at once, without calling the provider. No request waits longer than one HTTP
timeout plus a second: a bound, not a benchmark.
"""
import concurrent.futures
import time

import pytest
import requests

from conftest import start_checked
from e2e_util import BROWSER
from harness import LOCATIONS, login

TIMEOUT = 2          # CoinpayHTTPTimeout, seconds
USERS = 15           # one static and one token-passing request each: 30 in parallel
MAX_WAVES = 6        # each httpd process (at most 2) opens its breaker after 5 failures

PASSING_LOCATIONS = LOCATIONS + """
<Location /cgi-bin>
    CoinpayPassAccessToken On
</Location>
"""


def _timed_get(url, cookie):
    start = time.monotonic()
    r = requests.get(url, cookies={"coinpay_session": cookie}, headers=BROWSER,
                     allow_redirects=False, timeout=TIMEOUT * 10)
    return r, time.monotonic() - start


def _wave(pool, h, cookies, paths):
    """One request per (cookie, path), all at once; [(path, response, seconds)]."""
    jobs = [(path, pool.submit(_timed_get, h.url(path), c)) for c in cookies for path in paths]
    return [(path, *fut.result()) for path, fut in jobs]


def _check_bound(results):
    for path, r, took in results:
        assert took < TIMEOUT + 1, (path, r.status_code, took)


@pytest.mark.allow_log("CPA00171", "CPA00190")
def test_hanging_token_endpoint_keeps_static_pages_and_fails_token_pages_fast(new_httpd,
                                                                              bad_op):
    bad_op.set(access_token_ttl=1)
    h = new_httpd(bad_op.issuer, extra_coinpay=f"CoinpayHTTPTimeout {TIMEOUT}",
                  locations=PASSING_LOCATIONS)
    start_checked(h)
    cookies = []
    for _ in range(USERS):
        s = requests.Session()
        r = login(s, h.base_url)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        cookies.append(s.cookies.get("coinpay_session"))
    time.sleep(2.1)  # every access token (1 s) has expired
    bad_op.set(defect="token_hang", access_token_ttl=1)
    calls_before = bad_op.stats["token_calls"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * USERS) as pool:
        # The first wave: the breaker is closed, each token-passing request asks the provider
        # and gives up after one timeout; the static page never asks.
        first = _wave(pool, h, cookies, ["/app/", "/cgi-bin/whoami"])
        _check_bound(first)
        for path, r, _ in first:
            if path == "/app/":
                assert r.status_code == 200, (r.status_code, r.text[:300])
            else:
                assert r.status_code in (502, 503), (r.status_code, r.text[:300])
                assert "COINPAY_ACCESS_TOKEN" not in r.text
        assert bad_op.stats["token_calls"] - calls_before <= USERS

        # Until every process has seen five failures, some token-passing requests still wait a
        # timeout; then a whole wave is answered 503 without a call to the provider.
        for _ in range(MAX_WAVES):
            calls = bad_op.stats["token_calls"]
            wave = _wave(pool, h, cookies, ["/cgi-bin/whoami", "/app/"])
            _check_bound(wave)
            assert all(r.status_code == 200 for p, r, _ in wave if p == "/app/"), \
                [(p, r.status_code) for p, r, _ in wave]
            passing = [(r, took) for p, r, took in wave if p == "/cgi-bin/whoami"]
            assert all(r.status_code in (502, 503) for r, _ in passing)
            if all(r.status_code == 503 for r, _ in passing):
                break
        else:
            pytest.fail("the token-passing page never answered 503 as a whole wave")

    assert bad_op.stats["token_calls"] == calls, "an open breaker still called the provider"
    for r, took in passing:
        assert took < TIMEOUT, ("a 503 waited for the provider", took)
        retry_after = int(r.headers["Retry-After"])
        assert 1 <= retry_after <= 30, retry_after
        assert r.headers.get("Cache-Control") == "no-store"
        assert r.headers["Content-Type"].startswith("text/html")
    assert any("CPA00190" in line for line in h.error_log_lines())
