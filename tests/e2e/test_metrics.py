"""SetHandler coinpay-status: the module's counters, scraped before and after what a user does
(a sign-in, a refresh, a bad bearer token, a logout) must move by exactly that; the JSON format
says the same as the Prometheus text; and the page is an ordinary location (Require ip).

The OP's access tokens live 3 s and the module refreshes them 1 s before expiry (as in
test_token_lifecycle.py), so the refresh step waits about 2 s of real time.
"""
import json
import re
import time

import pytest
import requests

from conftest import PASSPHRASE, start_checked, _HTTPDS
from e2e_util import BROWSER, signed_in
from harness import OP, Httpd, coinpay_directives, free_port
from harness.httpd import LOCATIONS

CLIENT = "metrics"
SECRET = "metrics-secret-0123456789"
TTL = 3
API = {"Accept": "application/json"}
LABELS_OF = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


@pytest.fixture(scope="module")
def m_port():
    return free_port()


@pytest.fixture(scope="module")
def m_op(m_port, tmp_path_factory):
    base = f"http://127.0.0.1:{m_port}"
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [base + "/api/auth/callback/coinpay"],
              "post_logout_redirect_uris": [base + "/bye"]}
    o = OP([client], access_token_ttl=TTL, workdir=str(tmp_path_factory.mktemp("metrics-op")),
           quiet=True)
    o.start()
    yield o
    o.cleanup()


@pytest.fixture(scope="module")
def m_httpd(m_op, m_port):
    extra = ("CoinpayRefreshBeforeExpiry 1\nCoinpayBearerAudience https://api.example\n"
             "<Location />\n    CoinpayRefresh always\n</Location>")
    locations = """
<Location /api/documents>
    AuthType coinpay-bearer
    Require valid-user
</Location>
<Location /server-metrics>
    SetHandler coinpay-status
    Require ip 127.0.0.1
</Location>
<Location /denied-metrics>
    SetHandler coinpay-status
    Require ip 192.0.2.1
</Location>
"""
    h = Httpd(m_port, coinpay=coinpay_directives(
        m_op.issuer, CLIENT, SECRET, f"http://127.0.0.1:{m_port}/api/auth/callback/coinpay",
        passphrase=PASSPHRASE, extra=extra), locations=LOCATIONS + locations)
    _HTTPDS.append(h)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse_text(text):
    """{(name, frozenset(labels)): value} and {family: type} from Prometheus text 0.0.4."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset((k, unescape(v)) for k, v in LABELS_OF.findall(m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def scrape(h, fmt=None):
    r = requests.get(h.url("/server-metrics"), params={"format": fmt} if fmt else None,
                     timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r


def counters(h):
    samples, types = parse_text(scrape(h).text)
    return {k: v for k, v in samples.items() if types.get(k[0]) == "counter"}


def moved(before, after):
    """Counters that changed, by family name + label set, and by how much."""
    out = {}
    for k, v in after.items():
        if v != before.get(k, 0):
            out[k] = v - before.get(k, 0)
    return out


def find(delta, name, **labels):
    """The change of the one sample of `name` whose labels include `labels`."""
    hits = [v for (n, ls), v in delta.items()
            if n == name and all((k, v2) in ls for k, v2 in labels.items())]
    assert len(hits) <= 1, (name, labels, hits)
    return hits[0] if hits else 0


# Fetched by each child on its first need, so how many children served the steps decides them.
PER_CHILD = ("coinpay_auth_discovery_fetches_total", "coinpay_auth_jwks_fetches_total")


def check_exactly(delta, expected):
    """Each expected counter moved by exactly its amount; no other counter moved (except
    per-child fetches, which must have succeeded)."""
    for (name, labels), want in expected.items():
        assert find(delta, name, **dict(labels)) == want, (name, labels, delta)
    for (name, labels), v in delta.items():
        if name in PER_CHILD:
            assert dict(labels).get("result") == "ok", (name, labels, v)
            continue
        assert any(n == name and set(ls) <= set(labels) for (n, ls) in expected), \
            f"{name}{dict(labels)} moved by {v} unexpectedly"


def E(name, **labels):
    return (name, tuple(sorted(labels.items())))


@pytest.mark.sanitize
def test_each_user_action_moves_its_counters_by_exactly_one(m_httpd, m_op):
    before = counters(m_httpd)
    s = signed_in(m_httpd, "metered")
    after_signin = counters(m_httpd)
    check_exactly(moved(before, after_signin), {
        E("coinpay_auth_signins_started_total"): 1,
        E("coinpay_auth_signins_completed_total"): 1,
        E("coinpay_auth_sessions_created_total"): 1,
    })

    time.sleep(TTL - 1 + 0.3)  # the access token falls due
    r = s.get(m_httpd.url("/app/"), headers=BROWSER, allow_redirects=False)
    assert r.status_code == 200
    after_refresh = counters(m_httpd)
    check_exactly(moved(after_signin, after_refresh), {
        E("coinpay_auth_refreshes_total", result="ok"): 1,
    })

    r = requests.get(m_httpd.url("/api/documents"), timeout=10,
                     headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401
    after_bearer = counters(m_httpd)
    check_exactly(moved(after_refresh, after_bearer), {
        E("coinpay_auth_bearer_tokens_refused_total", reason="invalid"): 1,
    })

    r = s.get(m_httpd.url("/api/auth/logout/coinpay"), params={"return_to": "/bye"},
              headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302
    after_logout = counters(m_httpd)
    check_exactly(moved(after_bearer, after_logout), {
        E("coinpay_auth_sessions_ended_total", reason="logout"): 1,
    })


@pytest.mark.sanitize
def test_text_format_follows_prometheus_conventions(m_httpd):
    r = scrape(m_httpd)
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples, types = parse_text(r.text)
    helps = {line.split(" ")[2] for line in r.text.splitlines() if line.startswith("# HELP ")}
    assert set(types) == helps
    for name, kind in types.items():
        assert name.startswith("coinpay_auth_")
        if kind == "counter":
            assert name.endswith("_total")
    for (name, labels), _ in samples.items():
        if name.startswith("coinpay_auth_signins_started_total"):
            assert dict(labels) == {"site": dict(labels)["site"], "provider": "default"}
    hist = "coinpay_auth_provider_request_duration_seconds"
    assert types[hist] == "histogram"
    inf = [v for (n, ls), v in samples.items() if n == hist + "_bucket" and ("le", "+Inf") in ls]
    count = [v for (n, ls), v in samples.items() if n == hist + "_count"]
    assert inf == count and len(count) == 1
    assert samples[("coinpay_auth_store_info", frozenset({("kind", "shm")}))] == 1
    assert samples[("coinpay_auth_store_capacity_entries", frozenset())] > 0


def test_store_gauges_report_the_value_pool_and_what_sessions_use_of_it(m_httpd):
    samples, _ = parse_text(scrape(m_httpd).text)
    before = samples[("coinpay_auth_store_value_bytes_used", frozenset())]
    signed_in(m_httpd, "pool-check")
    samples, _ = parse_text(scrape(m_httpd).text)
    capacity = samples[("coinpay_auth_store_value_bytes_capacity", frozenset())]
    used = samples[("coinpay_auth_store_value_bytes_used", frozenset())]
    region = samples[("coinpay_auth_store_size_bytes", frozenset())]
    entries = samples[("coinpay_auth_store_capacity_entries", frozenset())]
    assert capacity == entries * 3072  # the default pool: 3 KiB an entry
    assert capacity < region < capacity + entries * 512
    # A session record with its tokens takes whole 512-byte blocks of the pool.
    assert used > before and (used - before) % 512 == 0


@pytest.mark.sanitize
def test_json_format_parses_and_agrees_with_the_text(m_httpd):
    signed_in(m_httpd, "json-check")  # something non-zero to compare
    # Between two scrapes nothing else happens on this server: both see the same numbers.
    text = scrape(m_httpd)
    js = scrape(m_httpd, "json")
    assert js.headers["Content-Type"].startswith("application/json")
    doc = json.loads(js.text)
    samples, types = parse_text(text.text)
    from_json = {}
    for f in doc["families"]:
        assert types[f["name"]] == f["type"]
        for s in f["samples"]:
            from_json[(s["name"], frozenset(s["labels"].items()))] = float(s["value"])
    assert from_json == samples
    assert any(v > 0 for (n, _), v in samples.items()
               if n == "coinpay_auth_signins_completed_total")


@pytest.mark.sanitize
def test_unknown_format_is_a_short_400(m_httpd):
    r = requests.get(m_httpd.url("/server-metrics"), params={"format": "<xml>"}, timeout=10)
    assert r.status_code == 400
    assert "<xml>" not in r.text and len(r.text) < 2000


@pytest.mark.allow_log("AH01630")  # mod_authz_core's own line for the denied client
def test_require_ip_protects_the_status_page_like_any_location(m_httpd):
    r = requests.get(m_httpd.url("/denied-metrics"), timeout=10)
    assert r.status_code == 403
    assert "coinpay_auth_" not in r.text
    assert requests.get(m_httpd.url("/server-metrics"), timeout=10).status_code == 200


@pytest.mark.sanitize
def test_only_get_is_served(m_httpd):
    r = requests.post(m_httpd.url("/server-metrics"), timeout=10)
    assert r.status_code == 405


@pytest.mark.sanitize
def test_counters_survive_a_graceful_restart(m_httpd):
    signed_in(m_httpd, "before-graceful")
    name = "coinpay_auth_signins_completed_total"
    before = sum(v for (n, _), v in counters(m_httpd).items() if n == name)
    assert before >= 1
    m_httpd.graceful()
    after = sum(v for (n, _), v in counters(m_httpd).items() if n == name)
    assert after == before
    signed_in(m_httpd, "after-graceful")
    assert sum(v for (n, _), v in counters(m_httpd).items() if n == name) == before + 1
