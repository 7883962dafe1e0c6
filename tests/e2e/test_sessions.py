"""Sessions and login state across restarts, key rotation and concurrency (real OP)."""
import concurrent.futures
from urllib.parse import urlsplit

import requests

from conftest import CLIENT_ID, CLIENT_SECRET, PASSPHRASE, POST_CLIENT_ID, POST_CLIENT_SECRET
from e2e_util import BROWSER, signed_in, whoami
from harness import coinpay_directives, login

NEW_PASSPHRASE = "rotated-passphrase-abcdef0123456789abcdef"


def _reconfigure(h, op, passphrases):
    h.coinpay = coinpay_directives(op.issuer, CLIENT_ID, CLIENT_SECRET,
                                   h.url("/api/auth/callback/coinpay"), passphrase=passphrases)
    h.write()
    h.graceful()


def test_sessions_survive_graceful_restart(op, httpd_port, new_httpd):
    h = new_httpd(op.issuer, port=httpd_port).start()
    s = signed_in(h, "alice")
    h.graceful()
    r, env = whoami(s, h)
    assert r.status_code == 200 and env["REMOTE_USER"] == "alice"


def test_login_started_before_passphrase_rotation_completes_after_it(op, httpd_port, new_httpd):
    h = new_httpd(op.issuer, port=httpd_port).start()
    s = requests.Session()
    cb = login(s, h.base_url, "alice", stop_at_callback=True)
    _reconfigure(h, op, f"{NEW_PASSPHRASE} {PASSPHRASE}")   # new one seals, old one still opens
    r = s.get(cb, headers=BROWSER, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert whoami(s, h)[1]["REMOTE_USER"] == "alice"


def test_login_cookie_sealed_with_retired_passphrase_gets_400(op, httpd_port, new_httpd):
    h = new_httpd(op.issuer, port=httpd_port).start()
    s = requests.Session()
    cb = login(s, h.base_url, "alice", stop_at_callback=True)
    _reconfigure(h, op, NEW_PASSPHRASE)
    r = s.get(cb, headers=BROWSER, allow_redirects=False)
    assert r.status_code == 400, (r.status_code, r.text[:300])


def test_login_cookies_are_capped(op, httpd_port, new_httpd):
    """Many abandoned login attempts do not pile up cookies; the newest still completes."""
    h = new_httpd(op.issuer, port=httpd_port).start()
    s = requests.Session()
    for _ in range(12):
        r = s.get(h.url("/api/auth/login/coinpay?return_to=/app/"), headers=BROWSER,
                  allow_redirects=False)
        assert r.status_code == 302
    names = [c.name for c in s.cookies if c.name.startswith("coinpay_login_")]
    assert 1 <= len(names) <= 8, names
    r = login(s, h.base_url, "alice")
    assert r.status_code == 200 and urlsplit(r.url).path == "/app/"


def test_parallel_logins_all_succeed(op, httpd_port, new_httpd):
    h = new_httpd(op.issuer, port=httpd_port).start()

    def one(i):
        s = requests.Session()
        r = login(s, h.base_url, f"user{i}")
        assert r.status_code == 200, r.text[:200]
        return whoami(s, h)[1]["REMOTE_USER"]

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        users = list(ex.map(one, range(16)))
    assert users == [f"user{i}" for i in range(16)]


def test_client_secret_post_client_signs_in_at_real_provider(op, httpd_port, new_httpd):
    h = new_httpd(op.issuer, port=httpd_port, client_id=POST_CLIENT_ID,
                  client_secret=POST_CLIENT_SECRET, token_auth="client_secret_post").start()
    s = signed_in(h, "erin")
    assert whoami(s, h)[1]["REMOTE_USER"] == "erin"


def test_op_restart_with_same_key_keeps_sessions_and_logins_working(op, httpd_port, new_httpd):
    """The OP persists its signing key: after its restart the module's cached JWKS stays valid."""
    h = new_httpd(op.issuer, port=httpd_port).start()
    s = signed_in(h, "frank")
    port = op.port
    op.stop()
    op.port = port
    op.start()
    assert whoami(s, h)[1]["REMOTE_USER"] == "frank"
    s2 = signed_in(h, "grace")
    assert whoami(s2, h)[1]["REMOTE_USER"] == "grace"


def test_graceful_restart_with_another_value_pool_starts_an_empty_store(op, httpd_port, new_httpd):
    """The pool's size is part of the region's layout: a changed one cannot be attached."""
    h = new_httpd(op.issuer, port=httpd_port, extra_conf="CoinpaySessionValueMemory 16").start()
    s = signed_in(h, "alice")
    h.write()
    h.graceful()
    assert whoami(s, h)[1]["REMOTE_USER"] == "alice", "same size: the region is kept"
    h.extra_conf = "CoinpaySessionValueMemory 32"
    h.write()
    h.graceful()
    r, _ = whoami(s, h)
    assert r.status_code == 302, (r.status_code, r.text[:200])  # signed out: sign in again
