"""Sessions in Redis, shared by two httpd nodes (CoinpaySessionStore redis://...).

A real redis-server runs on a free loopback port with a password (the module sends AUTH) and
database 2 (SELECT); no automatic persistence (--save '' --appendonly no). Two httpd nodes, A
and B, on their own ports share it: same CoinpayCryptoPassphrase, each its own
CoinpayRedirectURI; both are redirect URIs of one client at the OP, whose back-channel logout
URI points at node B.

Races: node A refreshes a session while the provider holds its answer (tests/op/op.js
/__test/control) and the session ends meanwhile through node B (logout, back-channel logout);
the late answer must not bring it back on either node. The OP's refreshed access tokens live
REFRESHED_TTL, so a session wrongly brought back would simply work.

Cookies are host-only for 127.0.0.1 (and cookies ignore ports), so requests to node B carry
the session cookie explicitly, never through a shared cookie jar.

Redis outages, two kinds:
- hung (SIGSTOP): connections are accepted by the kernel but nothing answers; the module must
  give up after CoinpayRedisTimeout and answer 503.
- down and back (SHUTDOWN SAVE, then a new redis-server on the same port): the process really
  exits, every pooled connection of the module is broken and new ones are refused; the
  restarted server loads the snapshot taken at shutdown. Persistence stays off otherwise; the
  snapshot on demand is only there so that "sessions resume" can be tested honestly with the
  same session as before the outage (without it a restart empties Redis and only new
  sign-ins could be checked). This exercises what a production outage does to the module
  (refused connects, dead pooled connections, reconnect) and whether the old cookie still works.
"""
import concurrent.futures
import os
import re
import time

import pytest

from conftest import PASSPHRASE
from e2e_util import (assert_signed_out, backchannel_ended, check_after_race, cookies_set,
                      logout_token, post_logout_token, refresh_on_hold)
from harness import Httpd, coinpay_directives, free_port
from harness.login import parse_forms
from harness.util import wait_until
from redis_util import (API, CLIENT, COOKIE, REDIS_PASSWORD, REDIS_TIMEOUT, SECRET, TTL,
                        crash_lines, get, session_cookie_deleted, sign_in, store_key,
                        wait_out_answers_from_copy, whoami_env)
# The two-node setup's fixtures, used by name (pytest finds them in this module), and
# REDIS_SERVER, which conftest.py checks is installed.
from redis_util import (REDIS_SERVER, nodes, ports, redis_server, redis_up,  # noqa: F401
                        rop)

HOLD = 2.5              # seconds the OP holds a refresh answer in the race tests


# -- tests --------------------------------------------------------------------------------------
@pytest.mark.sanitize
def test_session_signed_in_on_node_a_works_on_node_b(nodes):
    a, b = nodes
    _, cookie = sign_in(a, "roaming")
    env_a = whoami_env(a, cookie)
    env_b = whoami_env(b, cookie)
    assert env_a["REMOTE_USER"] == env_b["REMOTE_USER"] == "roaming"
    assert env_b["COINPAY_CLAIM_email"] == "roaming@example-business.com"
    # An API call on B too, and no new cookie from B (the session is the same one).
    r = get(b, "/app/data.json", cookie, headers=API)
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert COOKIE not in cookies_set(r)


@pytest.mark.sanitize
def test_logout_on_node_b_ends_the_session_on_node_a(nodes, rop):
    a, b = nodes
    _, cookie = sign_in(a, "leaver")
    assert get(a, "/app/", cookie).status_code == 200
    rop.reset_stats()
    r = get(b, "/api/auth/logout/coinpay?return_to=/bye", cookie)
    assert r.status_code == 302
    assert session_cookie_deleted(r)
    assert rop.stats()["revocations"] == 1
    # A refuses the old cookie: XHR 401, navigation back to the provider.
    r = get(a, "/app/data.json", cookie, headers=API)
    assert r.status_code == 401, (r.status_code, r.text[:200])
    r = get(a, "/app/", cookie)
    assert r.status_code == 302 and r.headers["Location"].startswith(rop.issuer)
    assert get(b, "/app/data.json", cookie, headers=API).status_code == 401


@pytest.mark.sanitize
def test_backchannel_logout_received_by_node_b_ends_the_session_on_node_a(nodes, rop):
    a, b = nodes
    s, cookie = sign_in(a, "bcl-redis")
    assert get(a, "/app/data.json", cookie, headers=API).status_code == 200
    seen = len([l for l in b.access_log_lines() if "/api/auth/backchannel/coinpay" in l])
    # The user signs out at the provider, which notifies node B (its backchannel_logout_uri).
    r = s.get(rop.url("/oauth/logout"), params={"client_id": CLIENT}, timeout=10)
    form = next(f for f in parse_forms(r.text) if f["fields"].get("xsrf"))
    action = form["action"] if form["action"].startswith("http") else rop.url(form["action"])
    s.post(action, data=dict(form["fields"], logout="yes"), timeout=10, allow_redirects=False)
    wait_until(lambda: len([l for l in b.access_log_lines()
                            if "/api/auth/backchannel/coinpay" in l and '" 200 ' in l]) > seen,
               timeout=10, what="the provider's back-channel logout at node B")
    r = get(a, "/app/data.json", cookie, headers=API)
    assert r.status_code == 401, (r.status_code, r.text[:200])


def test_redis_holds_neither_session_ids_nor_tokens_nor_email_in_plain_text(nodes, rop,
                                                                            redis_server):
    a, b = nodes
    user = f"dump-{os.urandom(4).hex()}"
    rop.reset_stats()
    _, cookie = sign_in(a, user)
    env = whoami_env(b, cookie)          # the access token as the application receives it
    access_token = env["COINPAY_ACCESS_TOKEN"]
    refresh_tokens = rop.stats()["refresh_tokens_issued"]
    assert refresh_tokens
    email = env["COINPAY_CLAIM_email"]
    assert email == f"{user}@example-business.com"

    dump = redis_server.dump()
    assert dump, "nothing in Redis"
    # The session lives under coinpay:<sha256(session id)>, sealed.
    assert store_key(cookie) in dump, sorted(dump)
    assert all(k.startswith(b"coinpay:") for k in dump), sorted(dump)
    secrets = {"session id": cookie, "access token": access_token, "email": email,
               "user": user}
    secrets.update({f"refresh token {i}": t for i, t in enumerate(refresh_tokens)})
    blob = b"\n".join(k + b"\0" + (v or b"") for k, v in dump.items())
    for what, value in secrets.items():
        for form in {value.encode(), value.encode().hex().encode()}:
            assert form not in blob, f"{what} found in Redis in plain text"
    # No JWT (the ID token) either, and the session's value is not readable text.
    assert not re.search(rb"eyJ[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}", blob)
    sealed = dump[store_key(cookie)]
    assert len(sealed) > 100
    assert b"example-business.com" not in sealed and b"openid" not in sealed


@pytest.mark.sanitize
def test_expired_token_with_40_parallel_requests_over_both_nodes_refreshes_once(nodes, rop):
    a, b = nodes
    _, cookie = sign_in(a, "storm-2nodes")
    assert get(b, "/app/data.json", cookie, headers=API).status_code == 200
    time.sleep(TTL - 1 + 0.3)             # the access token is now due for refresh
    rop.reset_stats()

    def one(i):
        node = (a, b)[i % 2]
        return node.port, get(node, "/app/data.json", cookie, headers=API).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(one, range(40)))
    codes = [c for _, c in results]
    assert codes.count(200) == 40, results
    st = rop.stats()
    assert st["token_calls"].get("refresh_token") == 1, st
    assert st["token_errors"] == {}, st
    # Both nodes go on with the refreshed token, without refreshing again.
    assert get(a, "/app/data.json", cookie, headers=API).status_code == 200
    assert get(b, "/app/data.json", cookie, headers=API).status_code == 200
    assert rop.stats()["token_calls"].get("refresh_token") == 1


def test_slow_refresh_keeps_every_parallel_request_on_both_nodes_waiting_for_it(nodes, rop):
    """A provider that takes its time to refresh (here 1.5 s, held at the OP): the requests
    that arrive on either node meanwhile wait for that one refresh and then succeed with its
    tokens; none fails, none refreshes again."""
    a, b = nodes
    _, cookie = sign_in(a, f"slow-storm-{os.urandom(4).hex()}")
    time.sleep(TTL - 1 + 0.3)             # the access token is now due for refresh
    rop.reset_stats()

    def one(i):
        node = (a, b)[i % 2]
        return node.port, get(node, "/app/data.json", cookie, headers=API).status_code

    with refresh_on_hold(rop, 1.5, lambda: get(a, "/app/data.json", cookie, headers=API)) \
            as first:
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(one, range(20)))
    assert first.result().status_code == 200, first.result().status_code
    assert [c for _, c in results].count(200) == 20, results
    st = rop.stats()
    assert st["token_calls"].get("refresh_token") == 1, st["token_calls"]
    assert st["token_errors"] == {}, st


def test_logout_on_node_b_while_node_a_refreshes_stays_logged_out_on_both(nodes, rop):
    """Node A is refreshing the session (the provider holds its answer) when the user signs out
    on node B: the late answer must not bring the session back on either node."""
    a, b = nodes
    _, cookie = sign_in(a, f"race-redis-{os.urandom(4).hex()}")
    assert get(b, "/app/data.json", cookie, headers=API).status_code == 200
    time.sleep(TTL - 1 + 0.3)             # the access token is now due for refresh
    rop.reset_stats()
    with refresh_on_hold(rop, HOLD, lambda: get(a, "/app/data.json", cookie, headers=API)) \
            as held:
        r = get(b, "/api/auth/logout/coinpay?return_to=/bye", cookie)
        assert r.status_code == 302, (r.status_code, r.text[:300])
        assert session_cookie_deleted(r)
    check_after_race(held.result(), rop, [a, b], [cookie])


def test_backchannel_logout_on_node_b_while_node_a_refreshes_stays_logged_out_on_both(nodes,
                                                                                      rop):
    a, b = nodes
    user = f"race-redis-bcl-{os.urandom(4).hex()}"
    _, cookie = sign_in(a, user)
    time.sleep(TTL - 1 + 0.3)
    rop.reset_stats()
    since = b.error_log_offset()
    with refresh_on_hold(rop, HOLD, lambda: get(a, "/app/data.json", cookie, headers=API)) \
            as held:
        r = post_logout_token(b, logout_token(rop.key_file, rop.issuer, CLIENT, sub=user))
        assert r.status_code == 200, (r.status_code, r.text[:300])
    assert backchannel_ended(b, since) == [1], b.module_log_lines(since)
    check_after_race(held.result(), rop, [a, b], [cookie], revoked=False)
    # Told again (a new logout token for the same user), node A finds nothing alive either.
    since = a.error_log_offset()
    r = post_logout_token(a, logout_token(rop.key_file, rop.issuer, CLIENT, sub=user))
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert backchannel_ended(a, since) == [0], a.module_log_lines(since)
    assert_signed_out(b, rop, cookie)


def _assert_unavailable(node, cookie, since):
    """Both a navigation and an XHR get 503 with a page, and the cookie is kept.
    Returns how long each of the two requests took (seconds)."""
    took = []
    started = time.monotonic()
    r = get(node, "/app/", cookie)
    took.append(time.monotonic() - started)
    assert r.status_code == 503, (node.port, r.status_code, r.text[:300])
    assert "text/html" in r.headers.get("Content-Type", "") and r.text.strip()
    assert COOKIE not in cookies_set(r), r.headers.get("Set-Cookie")
    started = time.monotonic()
    r = get(node, "/app/data.json", cookie, headers=API)
    took.append(time.monotonic() - started)
    assert r.status_code == 503, (node.port, r.status_code, r.text[:300])
    assert COOKIE not in cookies_set(r), r.headers.get("Set-Cookie")
    assert not crash_lines(node, since)
    return took


@pytest.mark.allow_log("CPA00150")
def test_hung_redis_gives_503_within_the_timeout_and_the_session_resumes(nodes, redis_server):
    a, b = nodes
    _, cookie = sign_in(a, "hung")
    assert get(b, "/app/", cookie).status_code == 200
    offsets = {h.port: h.error_log_offset() for h in nodes}
    redis_server.freeze()
    frozen_at = time.monotonic()
    try:
        for node in nodes:
            # Both nodes hold the session (A signed it in, B served it): with Redis client-side
            # caching (CoinpayRedisTracking, on by default) a node may answer it from its copy
            # until its invalidation connection's heartbeat is overdue; after that, 503.
            wait_out_answers_from_copy(node, cookie, frozen_at)
            took = _assert_unavailable(node, cookie, offsets[node.port])
            # Each request waits for Redis once, CoinpayRedisTimeout, then gives up.
            assert all(t < REDIS_TIMEOUT + 0.8 for t in took), (node.port, took)
    finally:
        redis_server.thaw()
    for node in nodes:
        assert any("CPA00150" in l and "[coinpay_auth:error]" in l
                   for l in node.error_log_lines(offsets[node.port])), node.port
    # Redis answers again: the same cookie works on both nodes at once.
    for node in (a, b, a, b):
        r = get(node, "/app/data.json", cookie, headers=API)
        assert r.status_code == 200, (node.port, r.status_code, r.text[:300])


@pytest.mark.sanitize
@pytest.mark.allow_log("CPA00150")
def test_redis_down_gives_503_keeps_the_cookie_and_sessions_resume_when_it_returns(
        nodes, redis_server):
    a, b = nodes
    _, cookie = sign_in(a, "outage")
    # Some load first, so that both nodes hold several pooled connections to Redis, as a busy
    # site does when Redis goes away.
    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        codes = list(pool.map(
            lambda i: get((a, b)[i % 2], "/app/data.json", cookie, headers=API).status_code,
            range(48)))
    assert codes.count(200) == 48, codes
    offsets = {h.port: h.error_log_offset() for h in nodes}
    redis_server.shutdown_keeping_data()
    for node in nodes:
        _assert_unavailable(node, cookie, offsets[node.port])
        # The cookie is still not deleted on repeated tries (connection refused now).
        r = get(node, "/cgi-bin/whoami", cookie)
        assert r.status_code == 503 and COOKIE not in cookies_set(r)
    for node in nodes:
        lines = node.error_log_lines(offsets[node.port])
        assert any("CPA00150" in l and "[coinpay_auth:error]" in l for l in lines), node.port
        assert not crash_lines(node, offsets[node.port])
        assert REDIS_PASSWORD not in node.error_log_text()

    redis_server.start(load_snapshot=True)     # same port, the data as it was at the shutdown
    back = {h.port: h.error_log_offset() for h in nodes}
    # Every request after the outage succeeds, the very first ones included: the module
    # reconnects instead of failing on the pooled connections Redis closed when it went away.
    after = [(node.port, get(node, "/app/data.json", cookie, headers=API).status_code)
             for _ in range(10) for node in nodes]
    assert all(code == 200 for _, code in after), (
        after, {node.port: node.module_log_lines(back[node.port]) for node in nodes})
    for node in nodes:
        assert whoami_env(node, cookie)["REMOTE_USER"] == "outage"
    # And a new sign-in works too.
    _, fresh = sign_in(b, "after-outage")
    assert whoami_env(a, fresh)["REMOTE_USER"] == "after-outage"
    for node in nodes:
        assert not crash_lines(node, offsets[node.port])


def test_configtest_refuses_a_redis_url_with_a_bad_port(rop, tmp_path):
    h = Httpd(free_port(), coinpay=coinpay_directives(
        rop.issuer, CLIENT, SECRET, "http://127.0.0.1:1/api/auth/callback/coinpay",
        passphrase=PASSPHRASE, extra="CoinpaySessionStore redis://host:notaport"),
        root=str(tmp_path))
    rc, out = h.configtest()
    assert rc != 0, out
    assert "CoinpaySessionStore" in out, out
    assert "CPA00916" in out or "CPA00902" in out, out
    assert "port" in out, out
