"""Fixtures for the end-to-end tests: a real OP (oidc-provider), a misbehaving OP, and a
private httpd running the module built from this tree.

Run:  /usr/bin/python3 -m pytest tests/e2e      (module: $COINPAY_MODULE or build/mod_coinpay_auth.so)

Every test fails in teardown when any httpd it used wrote an unexpected error-log line at
level warn or above (or a crash line); mark expected ones with
`@pytest.mark.allow_log("CPA00123", ...)` or the `allow_log` fixture. With a module built
with -DCOINPAY_SANITIZE=ON (or COINPAY_SANITIZE=1) httpd runs with ASan preloaded and any
sanitizer report fails the test (docs/testing.md); `-m sanitize` selects the subset CI runs so.

A missing dependency (the module, redis-server) is an error, never a skip.
"""
import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from harness import (OP, BadOP, Httpd, coinpay_directives, free_port,  # noqa: E402
                     module_path)
from harness.httpd import links_asan  # noqa: E402

CLIENT_ID = "rp"
CLIENT_SECRET = "rp-secret-0123456789"
POST_CLIENT_ID = "rp-post"
POST_CLIENT_SECRET = "rp-post-secret-0123456789"
PASSPHRASE = "e2e-passphrase-0123456789abcdef0123"

# httpd instances created during the current test (or alive across it).
_HTTPDS = []


def pytest_configure(config):
    config.addinivalue_line("markers", "allow_log(*tags): error-log tags a test may produce")
    config.addinivalue_line("markers", "sanitize: in the e2e subset CI runs against the "
                            "ASan+UBSan build of the module (-m sanitize)")


def pytest_collection_modifyitems(config, items):
    """Missing dependencies fail the run (pytest exits non-zero naming them); nothing skips."""
    missing = []
    if items and not os.path.exists(module_path()):
        missing.append(f"module not built: {module_path()} (build it: cmake -S . -B build && "
                       "cmake --build build; or set COINPAY_MODULE)")
    elif items and os.environ.get("COINPAY_SANITIZE") == "1" and not links_asan():
        missing.append(f"COINPAY_SANITIZE=1 but {module_path()} is not an ASan build "
                       "(cmake -DCOINPAY_SANITIZE=ON)")
    for exe in sorted({getattr(item.module, "REDIS_SERVER", None) for item in items} - {None}):
        if not os.access(exe, os.X_OK):
            missing.append(f"{exe} not installed (Debian: redis-server; scripts/install-deps.sh)")
    if missing:
        raise pytest.UsageError("missing test dependencies:\n  " + "\n  ".join(missing))


@pytest.fixture(scope="session")
def httpd_port():
    """All httpds of the session listen here (one at a time): the OP knows this redirect URI."""
    return free_port()


def redirect_uri(port):
    return f"http://127.0.0.1:{port}/api/auth/callback/coinpay"


@pytest.fixture(scope="session")
def op(httpd_port, tmp_path_factory):
    base = f"http://127.0.0.1:{httpd_port}"
    common = {"redirect_uris": [redirect_uri(httpd_port)],
              "post_logout_redirect_uris": [base + "/bye", base + "/"]}
    clients = [
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
         "token_endpoint_auth_method": "client_secret_basic", **common},
        {"client_id": POST_CLIENT_ID, "client_secret": POST_CLIENT_SECRET,
         "token_endpoint_auth_method": "client_secret_post", **common},
    ]
    o = OP(clients, workdir=str(tmp_path_factory.mktemp("op")), quiet=True)
    o.start()
    yield o
    o.cleanup()


@pytest.fixture(scope="session")
def bad_op_server():
    o = BadOP(client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    yield o
    o.stop()


@pytest.fixture
def bad_op(bad_op_server):
    bad_op_server.reset()
    yield bad_op_server
    bad_op_server.reset()


def make_httpd(port, issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_auth=None,
               extra_coinpay="", **kw):
    h = Httpd(port, coinpay=coinpay_directives(issuer, client_id, client_secret,
                                               redirect_uri(port), passphrase=PASSPHRASE,
                                               token_auth=token_auth, extra=extra_coinpay), **kw)
    _HTTPDS.append(h)
    return h


def start_checked(h):
    """Start h and fail if its start-up wrote anything unexpected to the error log."""
    h.start()
    problems = h.error_log_problems()
    if problems:
        h.cleanup()
        _HTTPDS.remove(h)
        pytest.fail("httpd start-up logged:\n" + "\n".join(problems), pytrace=False)
    return h


@pytest.fixture(scope="module")
def httpd(op, httpd_port):
    """httpd + module against the real OP (client_secret_basic client)."""
    h = start_checked(make_httpd(httpd_port, op.issuer))
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


@pytest.fixture(scope="module")
def bad_httpd(bad_op_server):
    """httpd + module against the misbehaving OP (own port)."""
    h = start_checked(make_httpd(free_port(), bad_op_server.issuer))
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


@pytest.fixture
def new_httpd():
    """Factory for a per-test httpd: new_httpd(issuer, port=None, **kw) (not started).
    Stopped after the test; its error log is checked, then its directory removed."""
    made = []

    def factory(issuer, port=None, **kw):
        h = make_httpd(port or free_port(), issuer, **kw)
        h.per_test = True
        made.append(h)
        return h
    yield factory
    for h in made:
        h.stop()


@pytest.fixture
def allow_log():
    """A list the test may extend with error-log tags it provokes on purpose."""
    return []


@pytest.fixture(autouse=True)
def error_log_guard(request, allow_log):
    offsets = {id(h): h.error_log_offset() for h in _HTTPDS}
    yield
    tags = list(allow_log)
    for m in request.node.iter_markers("allow_log"):
        tags.extend(m.args)
    problems = []
    for h in list(_HTTPDS):
        problems += h.error_log_problems(allowed_tags=tuple(tags), since=offsets.get(id(h), 0))
        if getattr(h, "per_test", False):
            h.cleanup()
            _HTTPDS.remove(h)
    if problems:
        pytest.fail("unexpected error-log lines:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def session():
    s = requests.Session()
    yield s
    s.close()

