"""Ending a session while a refresh of its tokens is in flight (real OP, shared-memory store).

A refresh runs inside an ordinary protected request: the module sends the refresh grant and
stores what comes back. If the user signs out (or the provider ends the session over the back
channel) while that answer is on its way, storing it must not bring the ended session back:
the old cookie stays refused, and the refresh token the late answer brought is revoked.

The OP's first access token lives 3 s and the module refreshes 1 s before expiry, so a session
is due for refresh about 2 s after sign-in; refreshed access tokens live 120 s, so a session
wrongly brought back by a late refresh would simply work (no second refresh that could end it
by chance). The OP holds each refresh answer HOLD seconds after it has done the grant (the old
refresh token spent, the new one issued; tests/op/op.js /__test/control), and that is when the
test ends the session.
The two-node (Redis) variant is in test_redis_sessions.py.
"""
import time
import uuid

import pytest
import requests

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import (API, assert_signed_out, backchannel_ended, check_after_race, logout_token,
                      post_logout_token, refresh_on_hold, session_get as get)
from harness import LOCATIONS, OP, Httpd, coinpay_directives, free_port, login

CLIENT = "races"
SECRET = "races-secret-0123456789"
TTL = 3
HOLD = 2.5
REFRESHED_TTL = 120
COOKIE = "coinpay_session"

RACE_LOCATIONS = LOCATIONS + """
<Location /api/auth/backchannel/coinpay>
    SetHandler coinpay-backchannel-logout
    Require all granted
</Location>
"""


@pytest.fixture(scope="module")
def race_port():
    return free_port()


@pytest.fixture(scope="module")
def race_op(race_port, tmp_path_factory):
    base = f"http://127.0.0.1:{race_port}"
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [base + "/api/auth/callback/coinpay"],
              "post_logout_redirect_uris": [base + "/bye"]}
    # Refreshed access tokens live long: a session that a late refresh brought back would
    # work at once, without another refresh that could end it by chance.
    o = OP([client], access_token_ttl=TTL, refreshed_access_token_ttl=REFRESHED_TTL,
           workdir=str(tmp_path_factory.mktemp("race-op")), quiet=True)
    o.start()
    yield o
    o.hold_refresh(0)
    o.cleanup()


@pytest.fixture(scope="module")
def race_httpd(race_op, race_port):
    h = Httpd(race_port, coinpay=coinpay_directives(
        race_op.issuer, CLIENT, SECRET, f"http://127.0.0.1:{race_port}/api/auth/callback/coinpay",
        passphrase=PASSPHRASE,
        extra="CoinpayRefreshBeforeExpiry 1\n<Location />\n    CoinpayRefresh always\n</Location>"),
        locations=RACE_LOCATIONS)
    _HTTPDS.append(h)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


# -- helpers --------------------------------------------------------------------------------
def sign_in(h, user):
    s = requests.Session()
    r = login(s, h.base_url, user)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    cookie = s.cookies.get(COOKIE)
    assert cookie, "no session cookie after sign-in"
    s.close()
    return cookie


def wait_until_due():
    time.sleep(TTL - 1 + 0.3)


# -- tests ----------------------------------------------------------------------------------
def test_logout_during_a_refresh_is_not_undone_when_the_refresh_answer_arrives(race_httpd,
                                                                               race_op):
    h, op = race_httpd, race_op
    user = "race-logout-" + uuid.uuid4().hex[:8]
    cookie = sign_in(h, user)
    assert get(h, "/app/data.json", cookie, headers=API).status_code == 200
    wait_until_due()
    op.reset_stats()
    with refresh_on_hold(op, HOLD, lambda: get(h, "/app/data.json", cookie, headers=API)) \
            as held:
        r = get(h, "/api/auth/logout/coinpay?return_to=/bye", cookie)
        assert r.status_code == 302, (r.status_code, r.text[:300])
    check_after_race(held.result(), op, [h], [cookie])
    # Signing in again works as usual, and the old cookie stays dead.
    fresh = sign_in(h, user)
    assert fresh != cookie
    r = get(h, "/cgi-bin/whoami", fresh)
    assert r.status_code == 200 and f"REMOTE_USER={user}" in r.text, (r.status_code, r.text)
    assert_signed_out(h, op, cookie)


def test_backchannel_logout_during_a_refresh_is_not_undone(race_httpd, race_op):
    h, op = race_httpd, race_op
    user = "race-bcl-" + uuid.uuid4().hex[:8]
    cookie = sign_in(h, user)
    assert get(h, "/app/data.json", cookie, headers=API).status_code == 200
    wait_until_due()
    op.reset_stats()
    since = h.error_log_offset()
    with refresh_on_hold(op, HOLD, lambda: get(h, "/app/data.json", cookie, headers=API)) \
            as held:
        r = post_logout_token(h, logout_token(op.key_file, op.issuer, CLIENT, sub=user))
        assert r.status_code == 200, (r.status_code, r.text[:300])
    assert backchannel_ended(h, since) == [1], h.module_log_lines(since)
    check_after_race(held.result(), op, [h], [cookie], revoked=False)
    # The provider says it again (a new logout token for the same user): nothing is alive.
    since = h.error_log_offset()
    r = post_logout_token(h, logout_token(op.key_file, op.issuer, CLIENT, sub=user))
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert backchannel_ended(h, since) == [0], h.module_log_lines(since)
    assert_signed_out(h, op, cookie)
