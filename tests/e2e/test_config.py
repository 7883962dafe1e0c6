"""Misconfiguration is caught by `apachectl -t`, naming the directive (no provider needed)."""
import pytest

from conftest import CLIENT_SECRET, PASSPHRASE
from harness import LOCATIONS, Httpd, coinpay_directives, free_port

ISSUER = "http://127.0.0.1:1"


def _conf(port, drop=(), **over):
    d = coinpay_directives(over.get("issuer", ISSUER), over.get("client_id", "rp"),
                           CLIENT_SECRET, over.get("redirect", f"http://127.0.0.1:{port}/api/auth/callback/coinpay"),
                           passphrase=over.get("passphrase", PASSPHRASE))
    return "\n".join(l for l in d.splitlines() if not any(l.startswith(x + " ") for x in drop))


def _configtest(coinpay, tmp_path, locations=LOCATIONS):
    port = free_port()
    h = Httpd(port, coinpay=coinpay(port), locations=locations, root=str(tmp_path))
    return h.configtest()


def test_apachectl_t_accepts_good_config(tmp_path):
    rc, out = _configtest(lambda p: _conf(p), tmp_path)
    assert rc == 0, out
    assert "Syntax OK" in out


@pytest.mark.parametrize("directive", ["CoinpayClientID", "CoinpayCryptoPassphrase",
                                       "CoinpayRedirectURI", "CoinpayIssuer"])
def test_apachectl_t_rejects_missing_required_directive(tmp_path, directive):
    rc, out = _configtest(lambda p: _conf(p, drop=(directive,)), tmp_path)
    assert rc != 0, out
    assert directive in out, out
    assert CLIENT_SECRET not in out and PASSPHRASE not in out


def test_apachectl_t_rejects_missing_client_id(tmp_path):
    rc, out = _configtest(lambda p: _conf(p, drop=("CoinpayClientID",)), tmp_path)
    assert rc != 0 and "CoinpayClientID" in out, out


def test_apachectl_t_rejects_missing_passphrase(tmp_path):
    rc, out = _configtest(lambda p: _conf(p, drop=("CoinpayCryptoPassphrase",)), tmp_path)
    assert rc != 0 and "CoinpayCryptoPassphrase" in out, out


def test_apachectl_t_rejects_relative_redirect_uri(tmp_path):
    rc, out = _configtest(lambda p: _conf(p, redirect="/api/auth/callback/coinpay"), tmp_path)
    assert rc != 0 and "CoinpayRedirectURI" in out, out


def test_apachectl_t_rejects_plain_http_issuer_off_loopback(tmp_path):
    rc, out = _configtest(lambda p: _conf(p, issuer="http://coinpayportal.com"), tmp_path)
    assert rc != 0 and "CoinpayIssuer" in out, out


def test_apachectl_t_rejects_bad_token_endpoint_auth(tmp_path):
    rc, out = _configtest(lambda p: _conf(p) + "\nCoinpayTokenEndpointAuth private_key_magic",
                          tmp_path)
    assert rc != 0 and "CoinpayTokenEndpointAuth" in out, out


def test_apachectl_t_accepts_signing_algorithms_and_its_former_name(tmp_path):
    for directive in ("CoinpaySigningAlgorithms", "CoinpayIDTokenAlgorithms"):
        rc, out = _configtest(lambda p: _conf(p) + f"\n{directive} RS256 EdDSA", tmp_path)
        assert rc == 0, out


def test_apachectl_t_rejects_both_signing_algorithm_names(tmp_path):
    rc, out = _configtest(lambda p: _conf(p) + "\nCoinpaySigningAlgorithms RS256"
                          "\nCoinpayIDTokenAlgorithms ES256", tmp_path)
    assert rc != 0, out
    assert "CPA00902" in out, out
    assert "CoinpaySigningAlgorithms and CoinpayIDTokenAlgorithms are both set" in out, out


def test_apachectl_t_rejects_auth_param_without_value_when_reading_the_line(tmp_path):
    rc, out = _configtest(lambda p: _conf(p) + "\nCoinpayAuthParam account", tmp_path)
    assert rc != 0, out
    assert "CoinpayAuthParam takes two arguments" in out, out


def test_module_loaded_without_coinpay_locations_is_harmless(tmp_path):
    rc, out = _configtest(lambda p: "", tmp_path, locations="")
    assert rc == 0, out


pytestmark = pytest.mark.sanitize   # the whole file is in the sanitized e2e subset


def test_apachectl_t_refuses_redis_sessions_without_a_passphrase(tmp_path):
    """A bearer-only site needs no passphrase, but Redis seals every value at rest with one:
    `apachectl -t` says so, instead of the server failing when it starts."""
    api = "<Location /api>\n  AuthType coinpay-bearer\n  Require valid-user\n</Location>\n"
    rc, out = _configtest(lambda p: f"CoinpayIssuer {ISSUER}\n"
                                    "CoinpayBearerAudience https://api.example-business.com\n"
                                    "CoinpaySessionStore redis://127.0.0.1:6379/0\n",
                          tmp_path, locations=api)
    assert rc != 0, out
    assert "CPA00916" in out and "needs CoinpayCryptoPassphrase" in out, out


def test_apachectl_t_reports_the_session_stores_memory_with_its_value_pool(tmp_path):
    rc, out = _configtest(lambda p: _conf(p) + "\nCoinpaySessionCapacity 300000"
                          "\nCoinpaySessionValueMemory 300", tmp_path)
    assert rc == 0, out
    # 100k signed-in users with back-channel logout (3 entries each), sized as docs/sessions.md.
    assert "CPA00918" in out and "sharing 300 MiB for values" in out, out
    mib = int(out.split("will allocate ")[1].split(" MiB")[0])
    assert mib <= 512, out


def test_apachectl_t_refuses_a_value_pool_smaller_than_one_largest_entry(tmp_path):
    rc, out = _configtest(lambda p: _conf(p) + "\nCoinpaySessionEntrySize 4194304"
                          "\nCoinpaySessionValueMemory 2", tmp_path)
    assert rc != 0, out
    assert "CPA00916" in out and "raise CoinpaySessionValueMemory to 4 or more" in out, out
