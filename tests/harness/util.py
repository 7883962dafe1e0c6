"""Small helpers shared by the harness: ports, paths, waiting."""
import os
import random
import socket
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OP_JS = os.path.join(REPO, "tests", "op", "op.js")
DEFAULT_MODULE = os.path.join(REPO, "build", "mod_coinpay_auth.so")


def module_path():
    """Absolute path of the module under test (env COINPAY_MODULE, else <repo>/build/...)."""
    return os.path.abspath(os.environ.get("COINPAY_MODULE", DEFAULT_MODULE))


# Ports picked for a server that binds later (or binds again after a restart) come from below
# the kernel's ephemeral range: a port from inside it can be taken meanwhile as the local end of
# any outgoing connection (a node's pooled connection to Redis, say), which once kept a second
# node off its port past the 10 s start wait. Below the range only another listener can take it,
# and bind() sees that. docs/testing.md, "Ports".
_PICK_FLOOR = 20000
_handed_out = set()
_rng = random.Random(os.getpid() ^ time.monotonic_ns())


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def _bindable(port, host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def free_port(host="127.0.0.1"):
    """A TCP port free on host now, outside the ephemeral range, never handed out before by
    this process (so a stopped server's port is not given to the next one)."""
    lo, hi = _ephemeral_range()
    pool = range(_PICK_FLOOR, lo) if lo - _PICK_FLOOR >= 2000 else range(hi + 1, 65536)
    if len(pool) >= 2000:
        if len(_handed_out) > len(pool) // 2:
            _handed_out.clear()
        for _ in range(500):
            port = _rng.choice(pool)
            if port not in _handed_out and _bindable(port, host):
                _handed_out.add(port)
                return port
    # The kernel's ephemeral range is all there is: fall back to its pick.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port, host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def port_accepts(port, host="127.0.0.1", timeout=0.2):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(pred, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def make_world_readable(path):
    """httpd workers run as www-data when started by root: open up a private tree."""
    for dirpath, dirnames, filenames in os.walk(path):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            mode = os.stat(p).st_mode
            os.chmod(p, 0o755 if mode & 0o100 else 0o644)
