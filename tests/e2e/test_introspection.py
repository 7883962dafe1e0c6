"""Opaque bearer tokens checked by introspection (RFC 7662) at the real OP: each httpd process
remembers the answers, refusals included, and merges concurrent questions about one token, so
a token repeated many times costs the provider at most one call per process."""
import concurrent.futures
import os
import re

import pytest
import requests

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import signed_in, whoami
from harness import OP, Httpd, coinpay_directives, free_port
from harness.httpd import LOCATIONS

CLIENT = "introspecting-client"
SECRET = "introspecting-secret-0123456789"
# The harness runs httpd with "ServerLimit 2": at most this many processes answer requests,
# each with its own memory of introspection answers.
MAX_PROCESSES = 2

API_LOCATIONS = """
<Location /cgi-bin>
    CoinpayPassAccessToken On
</Location>
<Location /opaque-api>
    AuthType coinpay-bearer
    Require valid-user
</Location>
"""


@pytest.fixture(scope="module")
def api_port():
    return free_port()


@pytest.fixture(scope="module")
def intro_op(api_port, tmp_path_factory):
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [f"http://127.0.0.1:{api_port}/api/auth/callback/coinpay"]}
    o = OP([client], workdir=str(tmp_path_factory.mktemp("introspection-op")), quiet=True)
    o.start()
    yield o
    o.cleanup()


@pytest.fixture(scope="module")
def api(intro_op, api_port):
    # No CoinpayResource: the OP issues opaque access tokens, which only introspection can check.
    coinpay = coinpay_directives(
        intro_op.issuer, CLIENT, SECRET, f"http://127.0.0.1:{api_port}/api/auth/callback/coinpay",
        passphrase=PASSPHRASE, extra="CoinpayBearerAnyAudience On")
    h = Httpd(api_port, coinpay=coinpay, locations=LOCATIONS, extra_conf=API_LOCATIONS)
    _HTTPDS.append(h)
    start_checked(h)
    path = os.path.join(h.root, "htdocs", "opaque-api")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "index.json"), "w") as f:
        f.write('{"api": "ok"}\n')
    os.chmod(path, 0o755)
    os.chmod(os.path.join(path, "index.json"), 0o644)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


def _get(api, token):
    return requests.get(api.url("/opaque-api/index.json"), headers={"Authorization": f"Bearer {token}"},
                        allow_redirects=False, timeout=10)


def _challenge(r):
    return dict(re.findall(r'(\w+)="([^"]*)"', r.headers.get("WWW-Authenticate", "")))


def _introspections(op):
    return op.stats()["introspections"]


def test_an_opaque_token_from_the_op_is_accepted_and_introspected_once_per_process(api, intro_op):
    s = signed_in(api, "erin")
    r, env = whoami(s, api)
    assert r.status_code == 200
    token = env["COINPAY_ACCESS_TOKEN"]
    assert token.count(".") != 2, "without a resource the OP should issue an opaque token"
    intro_op.reset_stats()
    for _ in range(20):
        r = _get(api, token)
        assert r.status_code == 200, (r.status_code, r.headers.get("WWW-Authenticate"))
        assert r.json() == {"api": "ok"}
    assert 1 <= _introspections(intro_op) <= MAX_PROCESSES


def test_a_garbage_token_sent_fifty_times_is_introspected_at_most_once_per_process(api, intro_op):
    intro_op.reset_stats()
    garbage = "not-a-token-the-op-ever-issued-0123456789"
    for _ in range(25):
        r = _get(api, garbage)
        assert r.status_code == 401
        assert _challenge(r) == {"realm": "api", "error": "invalid_token",
                                 "error_description": "The access token is not active"}
    # The other 25 at once: threads of a process merge into the call already made, or one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=25) as pool:
        statuses = list(pool.map(lambda _: _get(api, garbage).status_code, range(25)))
    assert statuses == [401] * 25
    assert 1 <= _introspections(intro_op) <= MAX_PROCESSES
    with open(api.error_log) as f:
        log = f.read()
    assert garbage not in log
    assert "(not active)" in log


def test_many_threads_presenting_one_new_token_share_the_call(api, intro_op):
    intro_op.reset_stats()
    token = "another-unknown-token-presented-by-many-threads"
    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(lambda _: _get(api, token).status_code, range(30)))
    assert statuses == [401] * 30
    assert 1 <= _introspections(intro_op) <= MAX_PROCESSES


pytestmark = pytest.mark.sanitize   # the whole file is in the sanitized e2e subset
