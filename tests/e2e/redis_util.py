"""Two httpd nodes sharing one real redis-server: what tests/e2e/test_redis_sessions.py and
tests/e2e/test_redis_tracking.py both use (a tiny RESP client, the redis-server process, the OP
and node fixtures, request helpers).

A test module takes the fixtures by importing them (pytest finds fixtures in a module's
namespace): `from redis_util import nodes, ports, redis_server, redis_up, rop`. `ports` holds
the ports of nodes A and B and, when a module overrides it, spare ones (every port in it is a
redirect URI of the OP's client, so a node started later on a spare port can sign users in).
"""
import hashlib
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import BROWSER, cookies_set, is_deleted
from harness import LOCATIONS, OP, Httpd, coinpay_directives, free_port, login
from harness.util import port_accepts, port_is_free, wait_until

REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
REDIS_PASSWORD = "redis-e2e-pw-0123456789"
REDIS_DB = 2
CLIENT = "redis-rp"
SECRET = "redis-rp-secret-0123456789"
TTL = 3                 # OP access token lifetime; the nodes refresh 1 s before expiry
REFRESHED_TTL = 120     # lifetime of access tokens from a refresh
REDIS_TIMEOUT = 1       # CoinpayRedisTimeout on the nodes
# With Redis client-side caching (CoinpayRedisTracking on, the default) a node keeps answering
# the sessions it holds from its own copy while the last PONG on its invalidation connection is
# younger than about 1 s; a Redis that hangs is noticed by then. TRACKING_GRACE adds room for a
# late heartbeat on a busy machine.
TRACKING_GRACE = 1.5
API = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"}
COOKIE = "coinpay_session"

# A missing redis-server fails the run (tests/e2e/conftest.py checks REDIS_SERVER of every
# collected test module, which imports it from here), never skips.


# -- a tiny Redis client (RESP over a socket), so the test sees the exact bytes stored --------
class RedisError(Exception):
    pass


class Resp:
    def __init__(self, port, password=None, db=0, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        if password:
            self.call("AUTH", password)
        if db:
            self.call("SELECT", db)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _bulk(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._bulk(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")


class RedisServer:
    """redis-server on 127.0.0.1:port as a child process; stop/restart keep the port.
    extra_args: more redis-server options, e.g. ["--rename-command", "CLIENT", ""]."""

    def __init__(self, workdir, password=REDIS_PASSWORD, extra_args=()):
        self.workdir = str(workdir)
        self.port = free_port()
        self.password = password
        self.extra_args = list(extra_args)
        self.proc = None
        self.frozen = False
        self.log_path = os.path.join(self.workdir, "redis.log")
        self.dump_path = os.path.join(self.workdir, "dump.rdb")

    @property
    def url(self):
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{REDIS_DB}"

    def start(self, load_snapshot=False):
        if not load_snapshot and os.path.exists(self.dump_path):
            os.remove(self.dump_path)
        wait_until(lambda: port_is_free(self.port), timeout=10, what=f"port {self.port} free")
        cmd = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--daemonize", "no",
               "--requirepass", self.password, "--dir", self.workdir,
               "--dbfilename", "dump.rdb", "--logfile", self.log_path, *self.extra_args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_until(self._answers, timeout=10, what="redis-server to answer PING")
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited ({self.proc.returncode}):\n{self.log_tail()}")
        try:
            with Resp(self.port, self.password, timeout=1) as r:
                return r.call("PING") == "PONG"
        except (OSError, RedisError):
            return False

    def client(self):
        return Resp(self.port, self.password, db=REDIS_DB)

    def shutdown_keeping_data(self):
        """Stop the server for real, after a one-off snapshot the next start() loads."""
        self.thaw()
        try:
            with self.client() as r:
                r.call("SHUTDOWN", "SAVE")
        except (ConnectionError, OSError):
            pass  # the server closes the connection as it exits
        self.proc.wait(10)
        self.proc = None
        assert os.path.exists(self.dump_path), self.log_tail()
        assert not port_accepts(self.port)

    def freeze(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        if self.proc is not None and self.frozen:
            self.proc.send_signal(signal.SIGCONT)
        self.frozen = False

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        self.thaw()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    def log_tail(self, n=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def dump(self):
        """{key: value} of every key in our database, as raw bytes."""
        with self.client() as r:
            keys = r.call("KEYS", "*")
            return {k: r.call("GET", k) for k in keys if r.call("TYPE", k) == "string"}


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    srv = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield srv
    srv.stop()


def distinct_ports(*names):
    """{name: a free port}, all different."""
    out = {}
    for name in names:
        p = free_port()
        while p in out.values():
            p = free_port()
        out[name] = p
    return out


@pytest.fixture(scope="module")
def ports():
    """Nodes A and B (a module may override this fixture to add spare ports)."""
    return distinct_ports("A", "B")


def base(port):
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def rop(ports, tmp_path_factory):
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [base(p) + "/api/auth/callback/coinpay" for p in ports.values()],
              "post_logout_redirect_uris": [base(p) + "/bye" for p in ports.values()],
              "backchannel_logout_uri": base(ports["B"]) + "/api/auth/backchannel/coinpay"}
    # Refreshed access tokens live long (REFRESHED_TTL): a session that a race test of
    # test_redis_sessions.py wrongly brought back would simply work.
    o = OP([client], access_token_ttl=TTL, refreshed_access_token_ttl=REFRESHED_TTL,
           workdir=str(tmp_path_factory.mktemp("redis-op")), quiet=True)
    o.start()
    yield o
    o.cleanup()


NODE_LOCATIONS = LOCATIONS + """
<Location /api/auth/backchannel/coinpay>
    SetHandler coinpay-backchannel-logout
    Require all granted
</Location>
<Location /cgi-bin>
    CoinpayPassAccessToken On
</Location>
"""


def node_httpd(port, op, redis_url, extra=""):
    """A node's httpd (not started): sessions in redis_url, `extra` more server directives."""
    directives = [f"CoinpaySessionStore {redis_url}",
                  f"CoinpayRedisTimeout {REDIS_TIMEOUT}",
                  "CoinpayRefreshBeforeExpiry 1",
                  "<Location />\n    CoinpayRefresh always\n</Location>"]
    if extra:
        directives.append(extra)
    return Httpd(port, coinpay=coinpay_directives(
        op.issuer, CLIENT, SECRET, base(port) + "/api/auth/callback/coinpay",
        passphrase=PASSPHRASE, extra="\n".join(directives)), locations=NODE_LOCATIONS)


def _node(port, op, redis_url):
    h = node_httpd(port, op, redis_url)
    _HTTPDS.append(h)
    start_checked(h)
    return h


@pytest.fixture(scope="module")
def nodes(ports, rop, redis_server):
    made = {}
    try:
        for name in ("A", "B"):
            made[name] = _node(ports[name], rop, redis_server.url)
        yield made["A"], made["B"]
    finally:
        for h in made.values():
            h.cleanup()
            _HTTPDS.remove(h)


@pytest.fixture(autouse=True)
def redis_up(redis_server):
    """Each test starts (and leaves the next one) with Redis answering."""
    redis_server.thaw()
    if not redis_server.running:
        redis_server.start(load_snapshot=True)
    yield
    redis_server.thaw()
    if not redis_server.running:
        redis_server.start(load_snapshot=True)


# -- helpers ------------------------------------------------------------------------------------
def sign_in(node, user):
    """Sign in on node; returns (requests.Session at the OP, session cookie value)."""
    s = requests.Session()
    r = login(s, node.base_url, user)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    cookie = s.cookies.get(COOKIE)
    assert cookie, "no session cookie after sign-in"
    return s, cookie


def get(node, path, cookie, headers=BROWSER, timeout=30):
    return requests.get(node.url(path), cookies={COOKIE: cookie} if cookie else None,
                        headers=headers, allow_redirects=False, timeout=timeout)


def whoami_env(node, cookie):
    r = get(node, "/cgi-bin/whoami", cookie)
    assert r.status_code == 200, (node.port, r.status_code, r.text[:300])
    env = dict(l.split("=", 1) for l in r.text.splitlines() if "=" in l)
    return env


def session_cookie_deleted(resp):
    c = cookies_set(resp).get(COOKIE)
    return c is not None and (is_deleted(c[1]) or c[0] == "")


def store_key(session_id):
    return b"coinpay:" + hashlib.sha256(session_id.encode()).hexdigest().encode()


def crash_lines(node, since):
    return [l for l in node.error_log_lines(since)
            if "exit signal" in l or "Segmentation" in l or "core dumped" in l]


def wait_out_answers_from_copy(node, cookie, frozen_at):
    """After Redis froze at `frozen_at` (time.monotonic()): requests on node may still be
    answered 200 from the node's copy of the session, for TRACKING_GRACE at most; returns once
    that time is over or the node answered something else (which must be a 503)."""
    while time.monotonic() - frozen_at < TRACKING_GRACE:
        r = get(node, "/app/data.json", cookie, headers=API)
        if r.status_code != 200:
            assert r.status_code == 503, (node.port, r.status_code, r.text[:300])
            return
        time.sleep(0.05)
