"""Small helpers shared by the harness: ports, paths, waiting."""
import os
import socket
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OP_JS = os.path.join(REPO, "tests", "op", "op.js")
DEFAULT_MODULE = os.path.join(REPO, "build", "mod_coinpay_auth.so")


def module_path():
    """Absolute path of the module under test (env COINPAY_MODULE, else <repo>/build/...)."""
    return os.path.abspath(os.environ.get("COINPAY_MODULE", DEFAULT_MODULE))


def free_port(host="127.0.0.1"):
    """A TCP port that was free on host a moment ago."""
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
