"""Load and fault helpers for the soak (tests/soak) and the faults-under-load e2e tests.

- RedisProc: a real redis-server on a free loopback port, optionally persistent (append-only
  file, fsync always), that can be stopped and started again on the same port.
- httpd_children / rss_kib: the worker processes of a harness Httpd and their resident memory.
- Traffic: steady parallel traffic (threads calling request functions in a loop) that records
  what every request got, per kind, while a test breaks something.
"""
import collections
import os
import shutil
import socket
import subprocess
import threading
import time

from .util import free_port, port_is_free, wait_until

REDIS_SERVER = os.environ.get("REDIS_SERVER", shutil.which("redis-server") or
                              "/usr/bin/redis-server")


class RedisProc:
    """redis-server on 127.0.0.1:<free port>, a child process. persistent=True: every write goes
    to an append-only file (appendfsync always), so stop() + start() keeps the data."""

    def __init__(self, workdir, persistent=False, password=None):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.persistent = persistent
        self.password = password
        self.port = free_port()
        self.proc = None
        self.log_path = os.path.join(self.workdir, "redis.log")

    def url(self, db=0):
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def start(self, timeout=10):
        wait_until(lambda: port_is_free(self.port), timeout=timeout,
                   what=f"port {self.port} free")
        cmd = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
               "--daemonize", "no", "--dir", self.workdir, "--logfile", self.log_path,
               "--save", ""]
        if self.persistent:
            cmd += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            cmd += ["--appendonly", "no"]
        if self.password:
            cmd += ["--requirepass", self.password]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_until(self.ping, timeout=timeout, what="redis-server to answer PING")
        return self

    def ping(self):
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None:
                raise RuntimeError(f"redis-server exited ({self.proc.returncode}): "
                                   f"{self.log_tail()}")
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                msg = b""
                if self.password:
                    p = self.password.encode()
                    msg += b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(p), p)
                msg += b"*1\r\n$4\r\nPING\r\n"
                s.sendall(msg)
                data = b""
                while b"PONG" not in data:
                    chunk = s.recv(256)
                    if not chunk or data.count(b"\r\n") > 2:
                        return False
                    data += chunk
                return True
        except OSError:
            return False

    def stop(self):
        """SIGTERM (redis-server flushes the append-only file and exits), then wait."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


# -- httpd worker processes ----------------------------------------------------------------------
def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _exe_is_httpd(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith(("apache2", "httpd"))
    except OSError:
        return False


def httpd_children(h):
    """PIDs of the worker processes of harness Httpd h (children of its parent process that run
    the httpd binary: a mod_cgid daemon, if loaded, is one of them too)."""
    parent = h._pid()
    if parent is None:
        return []
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and _ppid(int(name)) == parent and _exe_is_httpd(int(name)):
            out.append(int(name))
    return sorted(out)


def rss_kib(pid):
    """{'VmRSS': KiB, 'RssAnon': KiB, 'RssShmem': KiB} of pid (missing fields: absent)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


# -- steady parallel traffic -----------------------------------------------------------------------
class Traffic:
    """Threads that call request functions in a loop until stop(); each call's outcome is
    recorded as (kind, outcome, seconds) where outcome is the HTTP status or an exception name.

    kinds: {kind: callable() -> status}; each of `workers` threads goes round the kinds in turn
    (thread i starts at kind i), pausing `pause` seconds between requests.
    """

    def __init__(self, kinds, workers=8, pause=0.01):
        self.kinds = list(kinds.items())
        self.workers = workers
        self.pause = pause
        self.records = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    def _run(self, i):
        n = i
        while not self._stop.is_set():
            kind, fn = self.kinds[n % len(self.kinds)]
            n += 1
            start = time.monotonic()
            try:
                outcome = fn()
            except Exception as e:  # noqa: BLE001  recorded, not raised: the test judges
                outcome = type(e).__name__
            took = time.monotonic() - start
            with self._lock:
                self.records.append((kind, outcome, took, start))
            if self.pause:
                self._stop.wait(self.pause)

    def start(self):
        for i in range(self.workers):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout=60):
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def mark(self):
        """An index into the records: what happened after this moment is records[mark:]."""
        with self._lock:
            return len(self.records)

    def counts(self, since=0, until=None):
        """{kind: Counter(outcome)} of the records between two marks."""
        with self._lock:
            recs = self.records[since:until]
        out = collections.defaultdict(collections.Counter)
        for kind, outcome, _, _ in recs:
            out[kind][outcome] += 1
        return {k: dict(v) for k, v in out.items()}

    def slowest(self, since=0):
        with self._lock:
            recs = self.records[since:]
        return max((r[2] for r in recs), default=0.0)
