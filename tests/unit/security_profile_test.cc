// CoinpaySecurityProfile fapi2: what it turns on where the operator said nothing, and each
// setting it refuses at `apachectl -t` with the fix named.
#include <gtest/gtest.h>

#include <stdexcept>

#include "core/jose.h"
#include "core/security_profile.h"
#include "core/site_config.h"
#include "site_settings_util.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::TestKey;

// A site that says only fapi2 and names an EC key: everything else comes from the profile.
SiteSettings Fapi2Site() {
  SiteSettings s;
  Set(s.issuer, "https://coinpayportal.com");
  Set(s.client_id, "cid");
  Set(s.redirect_uri, "https://example-business.com/api/auth/callback/coinpay");
  Set(s.passphrases, {"a-long-random-passphrase-0123456789"});
  Set(s.security_profile, SecurityProfile::kFapi2);
  Set(s.private_keys, {KeyOf(TestKey::Ec("fapi-ec"), "fapi-1")});
  return s;
}

SiteContext Served() {
  SiteContext c;
  c.server_name = "example-business.com";
  c.tree.callback_locations = {"/api/auth/callback"};
  return c;
}

std::string Refusal(const SiteSettings& s) {
  auto site = BuildSiteConfig(s, {}, Served());
  return site ? "" : site.error().detail;
}

TEST(SecurityProfileFapi2, TurnsOnPrivateKeyJwtParDPoPIssAndFapiAlgorithms) {
  auto site = BuildSiteConfig(Fapi2Site(), {}, Served());
  ASSERT_TRUE(site) << site.error().detail;
  const ProviderConfig& p = site->providers.front();
  EXPECT_EQ(p.security_profile, SecurityProfile::kFapi2);
  EXPECT_EQ(p.token_auth, TokenEndpointAuth::kPrivateKeyJwt);
  EXPECT_EQ(p.par, ParMode::kOn);
  EXPECT_EQ(p.dpop, ClientDPoP::kRequired);
  EXPECT_TRUE(p.require_iss_response);
  EXPECT_EQ(p.signing_algs, (std::vector<std::string>{"PS256", "ES256"}));
  EXPECT_TRUE(site->bearer.sender_constrained_only);
  EXPECT_EQ(site->bearer.dpop_algs, (std::vector<std::string>{"PS256", "ES256"}));
}

TEST(SecurityProfileFapi2, BearerLocationsTakeOnlyDPoPWhateverTheySay) {
  BearerConfig fapi;
  fapi.sender_constrained_only = true;
  EXPECT_EQ(EffectiveBearerDPoP(fapi, DPoPMode::kOff), DPoPMode::kRequired);
  EXPECT_EQ(EffectiveBearerDPoP(fapi, DPoPMode::kAllowed), DPoPMode::kRequired);
  BearerConfig plain;
  EXPECT_EQ(EffectiveBearerDPoP(plain, DPoPMode::kOff), DPoPMode::kOff);
  EXPECT_EQ(EffectiveBearerDPoP(plain, DPoPMode::kAllowed), DPoPMode::kAllowed);
}

TEST(SecurityProfileFapi2, TheDefaultProfileChangesNothing) {
  SiteSettings s = Fapi2Site();
  Set(s.security_profile, SecurityProfile::kDefault);
  Set(s.token_auth, TokenEndpointAuth::kPrivateKeyJwt);
  auto site = BuildSiteConfig(s, {}, Served());
  ASSERT_TRUE(site) << site.error().detail;
  const ProviderConfig& p = site->providers.front();
  EXPECT_EQ(p.par, ParMode::kAuto);
  EXPECT_EQ(p.dpop, ClientDPoP::kOff);
  EXPECT_FALSE(p.require_iss_response);
  EXPECT_FALSE(site->bearer.sender_constrained_only);
}

TEST(SecurityProfileFapi2, RefusesAClientSecret) {
  SiteSettings s = Fapi2Site();
  Set(s.token_auth, TokenEndpointAuth::kClientSecretBasic);
  EXPECT_EQ(Refusal(s),
            "CoinpaySecurityProfile fapi2: authenticates the client with private_key_jwt: set "
            "CoinpayTokenEndpointAuth private_key_jwt (or remove it) and name the key with "
            "CoinpayPrivateKeyFile");
}

TEST(SecurityProfileFapi2, RefusesAMissingKeyNamingCoinpayPrivateKeyFile) {
  SiteSettings s = Fapi2Site();
  s.private_keys = {};
  EXPECT_EQ(Refusal(s).rfind("CoinpayTokenEndpointAuth private_key_jwt needs a key", 0), 0u)
      << Refusal(s);
}

TEST(SecurityProfileFapi2, RefusesAnRs256KeyAndTakesItAsPs256) {
  SiteSettings s = Fapi2Site();
  Set(s.private_keys, {KeyOf(TestKey::Rsa("fapi-rsa"), "rsa-1")});
  EXPECT_EQ(Refusal(s),
            "CoinpaySecurityProfile fapi2: the CoinpayPrivateKeyFile key rsa-1 signs RS256; FAPI "
            "2.0 allows PS256 and ES256 only: give an RSA key PS256 as its third argument "
            "(CoinpayPrivateKeyFile <file> <kid> PS256) or use an EC P-256 key");
  Set(s.private_keys, {KeyOf(TestKey::Rsa("fapi-rsa"), "rsa-1", "PS256")});
  EXPECT_EQ(Refusal(s), "");
}

TEST(SecurityProfileFapi2, RefusesParOff) {
  SiteSettings s = Fapi2Site();
  Set(s.par, ParMode::kOff);
  EXPECT_EQ(Refusal(s),
            "CoinpaySecurityProfile fapi2: sends authorization requests pushed (PAR): remove "
            "CoinpayPushedAuthorization off");
}

TEST(SecurityProfileFapi2, RefusesDPoPLessThanRequired) {
  for (ClientDPoP mode : {ClientDPoP::kOff, ClientDPoP::kOn}) {
    SiteSettings s = Fapi2Site();
    Set(s.dpop, mode);
    EXPECT_EQ(Refusal(s),
              "CoinpaySecurityProfile fapi2: needs sender-constrained tokens: set CoinpayDPoP "
              "required (or remove it)");
  }
}

TEST(SecurityProfileFapi2, RefusesAlgorithmsBeyondPs256AndEs256) {
  SiteSettings s = Fapi2Site();
  Set(s.signing_algs, {"RS256", "ES256"});
  EXPECT_EQ(Refusal(s),
            "CoinpaySecurityProfile fapi2: CoinpaySigningAlgorithms names RS256; FAPI 2.0 allows "
            "PS256 and ES256 only: list only those (or remove the directive)");
  SiteSettings b = Fapi2Site();
  Set(b.bearer_dpop_algs, {"EdDSA"});
  EXPECT_EQ(Refusal(b),
            "CoinpaySecurityProfile fapi2: CoinpayBearerDPoPAlgorithms names EdDSA; FAPI 2.0 "
            "allows PS256 and ES256 only: list only those (or remove the directive)");
}

TEST(SecurityProfileFapi2, RefusesAPlainHttpRedirectUriOffLoopback) {
  SiteSettings s = Fapi2Site();
  Set(s.redirect_uri, "http://example-business.com/api/auth/callback/coinpay");
  EXPECT_EQ(Refusal(s),
            "CoinpaySecurityProfile fapi2: CoinpayRedirectURI must be https (plain http only on "
            "this machine's loopback)");
  Set(s.redirect_uri, "http://127.0.0.1:8080/api/auth/callback/coinpay");
  EXPECT_EQ(Refusal(s), "");
}

TEST(SecurityProfileFapi2, RefusesPlainOAuth2) {
  SiteSettings s = Fapi2Site();
  Set(s.profile, ProviderProfile::kOAuth2);
  EXPECT_EQ(Refusal(s),
            "CoinpaySecurityProfile fapi2: needs OpenID Connect; remove CoinpayProviderProfile "
            "oauth2 or the security profile");
}

}  // namespace
}  // namespace coinpay
