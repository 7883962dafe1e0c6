"""NetworkCoin.ID: an OAuth 2.1 public client (no secret, PKCE only), profile and wallet claims
from userinfo, rotating refresh tokens, and logout at the provider's /oauth/logout."""
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import PASSPHRASE, _HTTPDS, start_checked
from e2e_util import BROWSER, signed_in, whoami
from harness import OP, Httpd, free_port

CLIENT = "networkcoin-public-app"


@pytest.fixture(scope="module")
def nc_port():
    return free_port()


@pytest.fixture(scope="module")
def nc_op(nc_port, tmp_path_factory):
    base = f"http://127.0.0.1:{nc_port}"
    client = {"client_id": CLIENT, "token_endpoint_auth_method": "none",
              "redirect_uris": [base + "/api/auth/callback/networkcoin"],
              "post_logout_redirect_uris": [base + "/bye"]}
    # Standard OIDC: profile and wallet claims only at userinfo, as NetworkCoin.ID documents.
    o = OP([client], access_token_ttl=3, conform_id_token_claims=True, quiet=True,
           workdir=str(tmp_path_factory.mktemp("nc-op")))
    o.start()
    yield o
    o.cleanup()


@pytest.fixture(scope="module")
def nc_httpd(nc_op, nc_port):
    base = f"http://127.0.0.1:{nc_port}"
    conf = f"""
CoinpayCryptoPassphrase {PASSPHRASE}
CoinpayRefreshBeforeExpiry 1
<Location />
    CoinpayRefresh always
</Location>
<CoinpayProvider networkcoin>
  CoinpayDisplayName           NetworkCoin.ID
  CoinpayIssuer                {nc_op.issuer}
  CoinpayClientID              {CLIENT}
  CoinpayTokenEndpointAuth     none
  CoinpayRedirectURI           {base}/api/auth/callback/networkcoin
  CoinpayScope                 "openid profile email wallet offline_access"
  CoinpayPostLogoutRedirectURI {base}/bye
  CoinpayRefreshBeforeExpiry   1
</CoinpayProvider>
"""
    locations = """
<Location /api/auth/login/networkcoin>
    SetHandler coinpay-login
    CoinpayUseProvider networkcoin
    Require all granted
</Location>
<Location /api/auth/callback/networkcoin>
    SetHandler coinpay-callback
    CoinpayUseProvider networkcoin
    Require all granted
</Location>
<Location /api/auth/logout/networkcoin>
    SetHandler coinpay-logout
    CoinpayUseProvider networkcoin
    Require all granted
</Location>
<Location /app>
    AuthType coinpay
    CoinpayUseProvider networkcoin
    Require valid-user
</Location>
<Location /cgi-bin>
    AuthType coinpay
    CoinpayUseProvider networkcoin
    Require valid-user
</Location>
"""
    h = Httpd(nc_port, coinpay=conf, locations=locations)
    _HTTPDS.append(h)
    start_checked(h)
    yield h
    h.cleanup()
    _HTTPDS.remove(h)


def _sign_in(h, user):
    return signed_in(h, user, start_path="/api/auth/login/networkcoin?return_to=/app/")


def test_public_client_signs_in_with_pkce_only_and_gets_wallet_claims(nc_httpd, nc_op):
    nc_op.reset_stats()
    s = _sign_in(nc_httpd, "nina")
    r, env = whoami(s, nc_httpd)
    assert env["REMOTE_USER"] == "nina"
    assert env["COINPAY_CLAIM_email"] == "nina@example-business.com"
    assert env["COINPAY_CLAIM_wallet_address"].startswith("0x")
    assert env["COINPAY_CLAIM_picture"].startswith("https://")
    assert nc_op.stats()["userinfo_calls"] == 1


def test_rotating_refresh_keeps_the_public_client_signed_in(nc_httpd, nc_op):
    s = _sign_in(nc_httpd, "rota")
    nc_op.reset_stats()
    time.sleep(2.3)  # the OP's 3 s access token falls due (its clock is real)
    assert s.get(nc_httpd.url("/app/"), headers=BROWSER, allow_redirects=False).status_code == 200
    st = nc_op.stats()
    assert st["token_calls"].get("refresh_token") == 1 and st["token_errors"] == {}, st


def test_logout_goes_to_the_providers_logout_with_client_id_and_return_url(nc_httpd, nc_op):
    s = _sign_in(nc_httpd, "lou")
    r = s.get(nc_httpd.url("/api/auth/logout/networkcoin"), headers=BROWSER,
              allow_redirects=False)
    assert r.status_code == 302
    loc = urlsplit(r.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == nc_op.url("/oauth/logout")
    q = parse_qs(loc.query)
    assert q["client_id"] == [CLIENT]
    assert q["post_logout_redirect_uri"] == [nc_httpd.url("/bye")]
    st = nc_op.stats()
    assert st["revocations"] >= 1


pytestmark = pytest.mark.sanitize   # the whole file is in the sanitized e2e subset
