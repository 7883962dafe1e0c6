"""Redis client-side caching: a node answers a session it holds without asking Redis, and still
sees a change made anywhere at once (CoinpayRedisTracking, on by default).

Each httpd process keeps one more connection to Redis, subscribed to `__redis__:invalidate`
with `CLIENT TRACKING on REDIRECT <its id> BCAST PREFIX coinpay:`, so every write, delete or
expiry of a session key by any node arrives there as a message; before a request is answered
from the process's copy, what arrived is read and the keys named are forgotten (a nil message,
FLUSHALL: everything). A broken or silent invalidation connection (no PONG for about 1 s)
makes the process forget everything and ask Redis on every request until it is back; a Redis
that refuses CLIENT or SUBSCRIBE makes it ask on every request for good, with one CPA01001
warning per process. `CoinpayRedisTracking off`: one version read (GETRANGE) per request.

The same two-node setup as test_redis_sessions.py (tests/e2e/redis_util.py): nodes A and B
share one redis-server; two spare ports (C, D) are redirect URIs too, for nodes a test starts
itself (another Redis, another setting).

Correctness tests (a logout, back-channel logout or refresh on one node is seen by
the next request on the other, which had just served the session) pass with or without
tracking: asking Redis every time is always correct. What tracking adds is tested by counting
Redis's commands (INFO commandstats after CONFIG RESETSTAT): a warm node sends (almost) none
per request; those tests fail against a module that asks Redis every time.
"""
import concurrent.futures
import os
import re
import threading
import time

import pytest

from conftest import _HTTPDS, start_checked
from e2e_util import BROWSER, assert_signed_out, logout_token, post_logout_token
from harness.util import wait_until
from redis_util import (API, CLIENT, REDIS_TIMEOUT, TRACKING_GRACE, TTL, RedisServer,
                        distinct_ports, get, node_httpd, sign_in, whoami_env)
# The two-node setup's fixtures, used by name (pytest finds them in this module), and
# REDIS_SERVER, which conftest.py checks is installed.
from redis_util import REDIS_SERVER, nodes, redis_server, redis_up, rop  # noqa: F401

N = 200   # requests measured for the cost of a warm node
FLUSH_GRACE = 1.0  # seconds FLUSHALL's invalidation may take (see its test)
# Reads a warm node may still make in N requests with tracking on: a process that the warm-up
# did not reach reads the session once (httpd runs up to 2 processes per node), and a process
# whose heartbeat (the PING on its invalidation connection) came back late on a busy machine
# forgets its copies and reads once more. Far below N: without tracking every request reads.
SLACK = 10
# Commands that keep connections alive or measure, not a request's question about a session.
UPKEEP = re.compile(r"^(ping|echo|auth|select|hello|info|config\|.*|client\|.*|subscribe|"
                    r"unsubscribe|psubscribe|punsubscribe|quit|reset)$")


@pytest.fixture(scope="module")
def ports():
    """A and B for the shared nodes, C and D for nodes a test starts itself."""
    return distinct_ports("A", "B", "C", "D")


# -- helpers ------------------------------------------------------------------------------------
def start_node(port, op, redis_url, extra=""):
    """A node started for this test only; the error-log guard checks it, then removes it."""
    h = node_httpd(port, op, redis_url, extra=extra)
    h.per_test = True
    _HTTPDS.append(h)
    return start_checked(h)


def api_status(node, cookie):
    return get(node, "/app/data.json", cookie, headers=API).status_code


def hold(node, cookie, n=12):
    """Make node serve the session n times, in parallel too, so its processes hold a copy."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda _: api_status(node, cookie), range(n)))
    codes += [api_status(node, cookie) for _ in range(3)]
    assert codes == [200] * len(codes), (node.port, codes)


def signed_in_sessions(node, users):
    """Sign each user in on node (a few at a time): [cookie]."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return [c for _, c in pool.map(lambda u: sign_in(node, u), users)]


def logout(node, cookie):
    r = get(node, "/api/auth/logout/coinpay?return_to=/bye", cookie)
    assert r.status_code == 302, (node.port, r.status_code, r.text[:300])


def commandstats(redis):
    """{command: calls} since the last CONFIG RESETSTAT."""
    with redis.client() as r:
        info = r.call("INFO", "commandstats").decode()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^cmdstat_([^:]+):calls=(\d+)", info, re.M)}


def session_reads(redis, send):
    """Run send() and return the commands Redis got meanwhile apart from connection upkeep:
    ({command: calls}, how many of them were reads of a value: GET and GETRANGE)."""
    with redis.client() as r:
        r.call("CONFIG", "RESETSTAT")
    send()
    stats = {k: v for k, v in commandstats(redis).items() if not UPKEEP.match(k)}
    return stats, stats.get("get", 0) + stats.get("getrange", 0)


def requests_on(node, cookie, n):
    def send():
        codes = [api_status(node, cookie) for _ in range(n)]
        assert codes == [200] * n, (node.port, [c for c in codes if c != 200][:5])
    return send


def with_long_lived_tokens(a, cookie):
    """Let the sign-in's short access token (TTL) come due and node A refresh it: the tokens
    then live REFRESHED_TTL, so no refresh writes the session while a test counts reads."""
    time.sleep(TTL - 1 + 0.3)
    assert api_status(a, cookie) == 200


def pubsub_client_ids(redis):
    with redis.client() as r:
        listing = r.call("CLIENT", "LIST", "TYPE", "pubsub").decode()
    return [m.group(1) for m in re.finditer(r"\bid=(\d+)\b", listing)]


def child_pids(parent):
    """The pids of the processes whose parent is `parent` (httpd's workers, its cgid daemon)."""
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its closing ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            out.add(int(entry))
    return out


# -- logout, back-channel logout, refresh: seen at once on the node that held it; FLUSHALL ------
@pytest.mark.sanitize
def test_logout_on_node_a_is_refused_at_once_on_node_b_that_served_the_session_from_its_copy(
        nodes, rop):
    a, b = nodes
    # 30 fresh sessions, one after the other: each gives a late invalidation a chance to show.
    cookies = signed_in_sessions(a, [f"copy-logout-{i}" for i in range(30)])
    for i, cookie in enumerate(cookies):
        hold(b, cookie, n=6)
        logout(a, cookie)
        # At once, no sleep: B's copy must not answer.
        assert api_status(b, cookie) == 401, ("B still served the session logged out on A", i)
        assert_signed_out(b, rop, cookie)


def test_logout_on_node_a_is_refused_on_node_b_by_every_request_sent_after_it(nodes, rop):
    """Requests run on B in parallel, without a pause, around the logout on A: the ones sent
    before it ends may get either answer; every one sent after it gets 401."""
    a, b = nodes
    cookies = signed_in_sessions(a, [f"copy-logout-par-{i}" for i in range(8)])
    for cookie in cookies:
        hold(b, cookie, n=6)
        stop = threading.Event()
        seen = []   # (sent at, status)

        def hammer():
            while not stop.is_set():
                sent = time.monotonic()
                seen.append((sent, api_status(b, cookie)))

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            workers = [pool.submit(hammer) for _ in range(4)]
            time.sleep(0.2)
            logout(a, cookie)
            logged_out = time.monotonic()
            time.sleep(0.3)
            stop.set()
            for w in workers:
                w.result()
        assert {s for _, s in seen} <= {200, 401}, seen
        assert any(s == 200 for t, s in seen if t < logged_out), "B never served the session"
        after = [s for t, s in seen if t > logged_out]
        assert after and all(s == 401 for s in after), ("B served a session logged out on A",
                                                        after)
        assert_signed_out(b, rop, cookie)


@pytest.mark.sanitize
def test_backchannel_logout_received_by_node_a_is_refused_at_once_on_node_b_that_held_it(
        nodes, rop):
    a, b = nodes
    users = [f"copy-bcl-{i}" for i in range(10)]
    cookies = signed_in_sessions(a, users)
    for user, cookie in zip(users, cookies):
        hold(b, cookie, n=6)
        r = post_logout_token(a, logout_token(rop.key_file, rop.issuer, CLIENT, sub=user))
        assert r.status_code == 200, (r.status_code, r.text[:300])
        assert api_status(b, cookie) == 401, ("B still served the session ended on A", user)
        assert_signed_out(b, rop, cookie)


def test_refresh_on_node_a_is_what_node_b_serves_next(nodes, rop):
    """Node A refreshes the session (new access and refresh tokens written to Redis): the next
    request on B, which held the record from before, passes on the new access token, and B does
    not refresh again (with the old record it would find the token due and spend the refresh
    token A already spent: the provider would refuse it)."""
    a, b = nodes
    cookies = signed_in_sessions(a, [f"copy-refresh-{i}" for i in range(3)])
    before = {}
    for cookie in cookies:
        hold(b, cookie, n=6)
        before[cookie] = whoami_env(b, cookie)["COINPAY_ACCESS_TOKEN"]
    time.sleep(TTL - 1 + 0.3)            # every session's access token is due for refresh
    rop.reset_stats()
    for cookie in cookies:
        refreshed = whoami_env(a, cookie)["COINPAY_ACCESS_TOKEN"]
        assert refreshed != before[cookie], "node A did not refresh"
        # At once, no sleep: B passes on the refreshed token, not its copy's.
        assert whoami_env(b, cookie)["COINPAY_ACCESS_TOKEN"] == refreshed
        assert api_status(b, cookie) == 200
    st = rop.stats()
    assert st["token_calls"].get("refresh_token") == len(cookies), st["token_calls"]
    assert st["token_errors"] == {}, st


@pytest.mark.sanitize
def test_flushall_signs_everyone_out_on_every_node(nodes, rop, redis_server):
    """Unlike a key's invalidation (written before the write's answer, in the same turn of
    Redis's event loop), FLUSHALL's comes in a later turn: after its answer, as soon as Redis
    runs again (tens of microseconds on an idle machine; a CI run once answered one request
    from a copy first). So this waits for it, at most FLUSH_GRACE, then requires every session
    to stay signed out on both nodes (docs/sessions.md)."""
    a, b = nodes
    cookies = signed_in_sessions(a, [f"copy-flush-{i}" for i in range(4)])
    for cookie in cookies:
        hold(a, cookie, n=4)
        hold(b, cookie, n=4)
    with redis_server.client() as r:
        assert r.call("FLUSHALL") == "OK"
    deadline = time.monotonic() + FLUSH_GRACE
    for node in (b, a):
        for cookie in cookies:
            while api_status(node, cookie) != 401:
                assert time.monotonic() < deadline, ("a session outlived FLUSHALL", node.port)
                time.sleep(0.01)
    for node in (b, a):
        for cookie in cookies:
            assert api_status(node, cookie) == 401, ("a session came back", node.port)
    for cookie in cookies:
        assert_signed_out(a, rop, cookie)
        assert_signed_out(b, rop, cookie)


# -- what tracking saves -----------------------------------------------------------------------
def test_a_session_unchanged_costs_no_redis_read_on_a_warm_node(nodes, redis_server):
    a, b = nodes
    _, cookie = sign_in(a, "warm-node")
    with_long_lived_tokens(a, cookie)
    hold(b, cookie, n=24)
    stats, reads = session_reads(redis_server, requests_on(b, cookie, N))
    assert reads <= SLACK, (f"{N} requests on a warm node made {reads} reads in Redis "
                            f"(tracking on: close to none expected)", stats)


def test_with_tracking_off_every_request_asks_redis_once(nodes, ports, rop, redis_server):
    """CoinpayRedisTracking off: the strict mode, one version read per request, and still the
    same answers (a logout on A is refused on the next request)."""
    a, _ = nodes
    strict = start_node(ports["C"], rop, redis_server.url, extra="CoinpayRedisTracking off")
    _, cookie = sign_in(a, "strict-node")
    with_long_lived_tokens(a, cookie)
    hold(strict, cookie, n=24)
    stats, reads = session_reads(redis_server, requests_on(strict, cookie, N))
    assert reads == N, (reads, stats)
    # Once warm a process only asks whether its copy is still current: GETRANGE of the
    # version; a process that had no copy yet (one per httpd process at most) reads it whole.
    assert stats.get("getrange", 0) >= N - 2, stats
    logout(a, cookie)
    assert api_status(strict, cookie) == 401


# -- a broken invalidation connection ------------------------------------------------------------
def test_killed_invalidation_connection_does_not_let_node_b_serve_a_logged_out_session(
        nodes, rop, redis_server):
    a, b = nodes
    for i in range(5):
        _, cookie = sign_in(a, f"copy-killed-{i}")
        hold(b, cookie, n=6)
        with redis_server.client() as r:
            r.call("CLIENT", "KILL", "TYPE", "pubsub")
        logout(a, cookie)
        assert api_status(b, cookie) == 401, ("B served a logged-out session after its "
                                              "invalidation connection was killed", i)
        assert_signed_out(b, rop, cookie)


def test_node_b_goes_back_to_answering_from_its_copy_after_its_invalidation_connection_is_back(
        nodes, redis_server):
    a, b = nodes
    _, cookie = sign_in(a, "resubscribed")
    with_long_lived_tokens(a, cookie)
    hold(b, cookie, n=24)
    ids = pubsub_client_ids(redis_server)
    assert ids, "no node holds an invalidation connection (CLIENT LIST TYPE pubsub is empty)"
    with redis_server.client() as r:
        assert r.call("CLIENT", "KILL", "TYPE", "pubsub") >= len(ids)
    # The next requests ask Redis (the copies were forgotten); once the processes have
    # subscribed again, a batch of requests makes (almost) no read.
    wait_until(lambda: session_reads(redis_server, requests_on(b, cookie, 20))[1] <= 1,
               timeout=15, what="node B to answer from its copy again")
    assert set(pubsub_client_ids(redis_server)) - set(ids), "no new invalidation connection"
    stats, reads = session_reads(redis_server, requests_on(b, cookie, N))
    assert reads <= SLACK, (reads, stats)


# -- a Redis that refuses client tracking; a hung Redis ---------------------------------------
@pytest.fixture
def refusing_redis(tmp_path):
    """A redis-server without the CLIENT command (as rename-command "" leaves it)."""
    workdir = tmp_path / "redis-no-client"
    workdir.mkdir()
    srv = RedisServer(workdir, extra_args=["--rename-command", "CLIENT", ""]).start()
    yield srv
    srv.stop()


def cpa01001_pids(node):
    """{pid: number of CPA01001 lines} in node's error log ('[pid N:tid M]' of each line)."""
    out = {}
    for line in node.error_log_lines():
        if "CPA01001" in line:
            assert "[coinpay_auth:warn]" in line, line
            m = re.search(r"\[pid (\d+)", line)
            assert m, line
            out[int(m.group(1))] = out.get(int(m.group(1)), 0) + 1
    return out


@pytest.mark.allow_log("CPA01001")
def test_redis_that_refuses_client_tracking_still_works_asking_every_request(
        ports, rop, refusing_redis):
    c = start_node(ports["C"], rop, refusing_redis.url)
    d = start_node(ports["D"], rop, refusing_redis.url)
    cookies = signed_in_sessions(c, [f"no-tracking-{i}" for i in range(3)])
    for cookie in cookies:
        hold(c, cookie)
        hold(d, cookie)
        assert whoami_env(d, cookie)["REMOTE_USER"].startswith("no-tracking-")
    # Every request asks Redis: one read each.
    stats, reads = session_reads(refusing_redis, requests_on(d, cookies[0], 50))
    assert reads == 50, (reads, stats)
    # A logout is seen at once on the other node, either way round.
    logout(c, cookies[0])
    assert api_status(d, cookies[0]) == 401
    logout(d, cookies[1])
    assert api_status(c, cookies[1]) == 401
    assert_signed_out(c, rop, cookies[0])
    assert_signed_out(d, rop, cookies[1])
    hold(d, cookies[2])
    # One warning per httpd process that talked to this Redis, however many requests it served.
    for node in (c, d):
        pids = cpa01001_pids(node)
        assert pids, (node.port, "no CPA01001 warning", node.module_log_lines()[-10:])
        assert all(n == 1 for n in pids.values()), (node.port, pids)
        assert set(pids) <= child_pids(node._pid()), (node.port, pids)
    for node in (c, d):   # before this test's Redis stops (its fixture ends first)
        node.stop()


@pytest.mark.allow_log("CPA00150")
def test_hung_redis_gives_503_on_a_node_that_held_the_session_within_the_timeout_and_heartbeat(
        nodes, redis_server):
    """A node may answer from its copy until the heartbeat on its invalidation connection is
    overdue (about 1 s after Redis stopped answering, TRACKING_GRACE with room); then every
    request asks Redis, waits CoinpayRedisTimeout once (never more: reopening the invalidation
    connection must not make a request wait for a hung Redis a second time) and gets 503, the
    cookie kept."""
    a, b = nodes
    _, cookie = sign_in(a, "copy-hung")
    hold(b, cookie, n=24)
    seen = []   # (answered, seconds after the freeze; took, seconds; status)

    def trace():
        return "answered at (took): status: " + ", ".join(f"{t}s ({took}s): {s}"
                                                           for t, took, s in seen)
    redis_server.freeze()
    frozen_at = time.monotonic()
    try:
        # Until the first 503, then four more requests (a node retries its invalidation
        # connection about once a second: some of them meet that retry).
        while len([x for x in seen if x[2] == 503]) < 5:
            assert time.monotonic() - frozen_at < 30, trace()
            sent = time.monotonic()
            r = get(b, "/app/data.json" if len(seen) % 2 else "/app/", cookie,
                    headers=API if len(seen) % 2 else BROWSER)
            now = time.monotonic()
            seen.append((round(now - frozen_at, 2), round(now - sent, 2), r.status_code))
            assert r.status_code in (200, 503), (r.text[:300], trace())
            assert "coinpay_session" not in r.headers.get("Set-Cookie", ""), trace()
            if r.status_code == 200:
                time.sleep(0.05)
        first_503 = next(t for t, _, s in seen if s == 503)
        assert first_503 <= REDIS_TIMEOUT + TRACKING_GRACE, trace()
        assert all(took < REDIS_TIMEOUT + 0.8 for _, took, _ in seen), trace()
        assert all(s == 503 for t, _, s in seen if t > first_503), trace()
    finally:
        redis_server.thaw()
    for node in (b, a, b):
        assert api_status(node, cookie) == 200
