"""Userinfo at sign-in: a standard provider keeps profile claims out of the ID token and serves
them at its userinfo endpoint; the application still sees them."""
import pytest

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import signed_in, whoami
from harness import OP, Httpd, coinpay_directives, free_port

CLIENT = "standard-rp"
SECRET = "standard-rp-secret-0123456789"


@pytest.fixture(scope="module")
def std_port():
    return free_port()


@pytest.fixture(scope="module")
def std_op(std_port, tmp_path_factory):
    client = {"client_id": CLIENT, "client_secret": SECRET,
              "redirect_uris": [f"http://127.0.0.1:{std_port}/api/auth/callback/coinpay"]}
    o = OP([client], workdir=str(tmp_path_factory.mktemp("std-op")), quiet=True,
           conform_id_token_claims=True)
    o.start()
    yield o
    o.cleanup()


def _httpd(port, op, userinfo):
    h = Httpd(port, coinpay=coinpay_directives(
        op.issuer, CLIENT, SECRET, f"http://127.0.0.1:{port}/api/auth/callback/coinpay",
        passphrase=PASSPHRASE, extra=f"CoinpayUserinfo {userinfo}"))
    _HTTPDS.append(h)
    return start_checked(h)


@pytest.mark.parametrize("userinfo", ["auto", "on"])
def test_claims_from_userinfo_reach_the_cgi(std_op, std_port, userinfo):
    h = _httpd(std_port, std_op, userinfo)
    try:
        std_op.reset_stats()
        s = signed_in(h, "uma")
        r, env = whoami(s, h)
        assert env["REMOTE_USER"] == "uma"
        assert env["COINPAY_CLAIM_email"] == "uma@example-business.com"
        assert std_op.stats()["userinfo_calls"] == 1
    finally:
        h.stop()
        _HTTPDS.remove(h)
        h.cleanup()


def test_userinfo_off_keeps_only_the_id_token_claims(std_op, std_port):
    h = _httpd(std_port, std_op, "off")
    try:
        std_op.reset_stats()
        s = signed_in(h, "otto")
        r, env = whoami(s, h)
        assert env["REMOTE_USER"] == "otto"
        assert "COINPAY_CLAIM_email" not in env
        assert std_op.stats()["userinfo_calls"] == 0
    finally:
        h.stop()
        _HTTPDS.remove(h)
        h.cleanup()
