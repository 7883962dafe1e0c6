// Startup validation of a provider's configuration and the fields it derives.
#include "core/provider_config.h"

#include <gtest/gtest.h>

#include <map>

#include "core/provider_metadata.h"

namespace coinpay {
namespace {

ProviderConfig Good() {
  ProviderConfig p;
  p.issuer = "https://coinpayportal.com";
  p.client_id = "cid";
  p.client_secret = "secret-value-1";
  p.redirect_uri = "https://example-business.com/api/auth/callback/coinpay?x=1";
  return p;
}

TEST(ProviderConfig, DerivesRedirectPathOriginAndMetadataUrl) {
  ProviderConfig p = Good();
  ASSERT_TRUE(FinalizeProviderConfig(p).ok());
  EXPECT_EQ(p.redirect_origin, "https://example-business.com");
  EXPECT_EQ(p.redirect_path, "/api/auth/callback/coinpay");
  EXPECT_EQ(p.metadata_url, "https://coinpayportal.com/.well-known/openid-configuration");
}

TEST(ProviderConfig, ErrorsNameTheDirectiveAndNeverTheSecret) {
  struct Case {
    std::function<void(ProviderConfig&)> breakit;
    const char* directive;
  };
  std::vector<Case> cases = {
      {[](ProviderConfig& p) { p.issuer.clear(); }, "CoinpayIssuer"},
      {[](ProviderConfig& p) { p.issuer = "http://coinpayportal.com"; }, "CoinpayIssuer"},
      {[](ProviderConfig& p) { p.issuer = "coinpayportal.com"; }, "CoinpayIssuer"},
      {[](ProviderConfig& p) { p.client_id.clear(); }, "CoinpayClientID"},
      {[](ProviderConfig& p) { p.client_secret.clear(); }, "CoinpayClientSecret"},
      {[](ProviderConfig& p) { p.redirect_uri.clear(); }, "CoinpayRedirectURI"},
      {[](ProviderConfig& p) { p.redirect_uri = "/callback"; }, "CoinpayRedirectURI"},
      {[](ProviderConfig& p) { p.scope = "email profile"; }, "CoinpayScope"},
  };
  for (const auto& c : cases) {
    ProviderConfig p = Good();
    c.breakit(p);
    Status st = FinalizeProviderConfig(p);
    ASSERT_FALSE(st.ok()) << c.directive;
    EXPECT_EQ(st.code(), Errc::kConfig);
    EXPECT_NE(st.error().detail.find(c.directive), std::string::npos) << st.error().detail;
    EXPECT_EQ(st.error().detail.find("secret-value-1"), std::string::npos);
  }
}

TEST(ProviderConfig, PublicClientNeedsNoSecret) {
  ProviderConfig p = Good();
  p.client_secret.clear();
  p.token_auth = TokenEndpointAuth::kNone;
  EXPECT_TRUE(FinalizeProviderConfig(p).ok());
}

TEST(ProviderConfig, PlainHttpIssuerOnlyOnLoopback) {
  ProviderConfig p = Good();
  p.issuer = "http://127.0.0.1:3000";
  EXPECT_TRUE(FinalizeProviderConfig(p).ok());
  p = Good();
  p.issuer = "http://localhost:8080";
  EXPECT_TRUE(FinalizeProviderConfig(p).ok());
}

// "localhost.evil.com" and "127.evil.com" are DNS names anyone can point anywhere: plain http
// to them would send the client secret and codes in clear over the internet.
TEST(ProviderConfig, RefusesPlainHttpToHostsThatMerelyStartLikeLoopback) {
  for (const char* issuer :
       {"http://localhost.evil.com", "http://127.evil.com", "http://localhostevil.com"}) {
    ProviderConfig p = Good();
    p.issuer = issuer;
    EXPECT_FALSE(FinalizeProviderConfig(p).ok()) << issuer;
  }
}

TEST(ProviderConfig, NamesTheProviderBlockInErrors) {
  ProviderConfig p = Good();
  p.name = "coinbase";
  p.client_id.clear();
  Status st = FinalizeProviderConfig(p);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().detail.find("<CoinpayProvider coinbase>"), std::string::npos);
}

// OIDC Discovery 3 and 4.3: the issuer is compared exactly, so an issuer whose canonical form
// ends in "/" (Auth0, some Keycloak setups) must keep it; only the discovery URL drops it.
TEST(ProviderConfig, KeepsTrailingSlashOfIssuerForExactComparison) {
  ProviderConfig p = Good();
  p.issuer = "https://tenant.example/";
  ASSERT_TRUE(FinalizeProviderConfig(p).ok());
  EXPECT_EQ(p.metadata_url, "https://tenant.example/.well-known/openid-configuration");
  auto m = ParseDiscovery(
      R"({"issuer":"https://tenant.example/","authorization_endpoint":"https://tenant.example/a",)"
      R"("token_endpoint":"https://tenant.example/t","jwks_uri":"https://tenant.example/k"})",
      p);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().detail);
}

// A discovery document cannot send our client secret or tokens anywhere in clear text.
TEST(ProviderMetadata, RefusesPlainHttpEndpointsOffLoopback) {
  ProviderConfig p = Good();
  p.issuer = "https://op.example";
  ASSERT_TRUE(FinalizeProviderConfig(p).ok());
  // The document with `key` set to `url` (the required endpoints stay https).
  auto doc = [](const std::string& key, const std::string& url) {
    std::map<std::string, std::string> eps = {{"authorization_endpoint", "https://op.example/a"},
                                              {"token_endpoint", "https://op.example/t"},
                                              {"jwks_uri", "https://op.example/k"}};
    eps[key] = url;
    std::string out = R"({"issuer":"https://op.example")";
    for (const auto& [k, v] : eps) {
      out += ",\"" + k + "\":\"" + v + "\"";
    }
    return out + "}";
  };
  EXPECT_TRUE(ParseDiscovery(doc("jwks_uri", "https://op.example/k"), p).ok());
  for (const char* key : {"token_endpoint", "jwks_uri", "userinfo_endpoint", "revocation_endpoint",
                          "introspection_endpoint", "end_session_endpoint"}) {
    EXPECT_FALSE(ParseDiscovery(doc(key, "http://op.example/x"), p).ok()) << key;
    EXPECT_TRUE(ParseDiscovery(doc(key, "http://127.0.0.1:9/x"), p).ok()) << key << " on loopback";
  }
}

}  // namespace
}  // namespace coinpay
