// private_key_jwt (RFC 7523, OpenID Connect Core 9): every rule of the client assertion, that it
// replaces the secret on every call the module makes to the provider (code, refresh,
// introspection, revocation, PAR), the configuration refusals, and the published JWKS.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/client_assertion.h"
#include "core/directive_kinds.h"
#include "core/encoding.h"
#include "core/jose.h"
#include "core/site_config.h"
#include "core/token_client.h"
#include "fakes.h"
#include "site_settings_util.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::TestKey;
using testing::TestSite;

std::map<std::string, std::string> Form(const std::string& body) {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : ParseQuery(body).value_or(Params{})) {
    EXPECT_TRUE(out.emplace(k, v).second) << "repeated " << k;
  }
  return out;
}

std::string Header(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (IEquals(k, name)) {
      return v;
    }
  }
  return "";
}

// Verified with the test's own public JWK of the key (made by OpenSSL in test_keys, not by the
// code under test).
Result<VerifiedJwt> VerifyAssertion(const TestKey& k, const std::string& jwt) {
  auto jwks = Jwks::Parse(testing::MakeJwks({&k}));
  if (!jwks) {
    return jwks.error();
  }
  return VerifyJws(jwt, **jwks, {"RS256", "ES256"});
}

// --- the assertion itself ---------------------------------------------------------------------

TEST(ClientAssertion, ClaimsAreIssSubClientIdAudIssuerAndAShortLife) {
  const TestKey& rsa = TestKey::Rsa("pkj-rsa");
  testing::FakeRandom random;
  auto jwt = MakeClientAssertion(*KeyOf(rsa, "pkj-rsa"), "client-1", "https://op.example",
                                 1700000000, random);
  ASSERT_TRUE(jwt) << jwt.error().detail;
  auto v = VerifyAssertion(rsa, *jwt);
  ASSERT_TRUE(v) << v.error().detail;
  EXPECT_EQ(v->claims.GetString("iss").value_or(""), "client-1");
  EXPECT_EQ(v->claims.GetString("sub").value_or(""), "client-1");
  // aud is the issuer as one string, not an array and not the endpoint URL.
  EXPECT_TRUE(v->claims.Get("aud").IsString());
  EXPECT_EQ(v->claims.GetString("aud").value_or(""), "https://op.example");
  EXPECT_EQ(v->claims.GetInt("iat").value_or(0), 1700000000);
  int64_t life = v->claims.GetInt("exp").value_or(0) - 1700000000;
  EXPECT_GT(life, 0);
  EXPECT_LE(life, 60);
  EXPECT_GE(Base64UrlDecode(v->claims.GetString("jti").value_or("")).value_or("").size(), 16u);
  EXPECT_EQ(v->header.GetString("typ").value_or(""), "JWT");
  EXPECT_EQ(v->header.GetString("kid").value_or(""), "pkj-rsa");
  EXPECT_EQ(v->header.GetString("alg").value_or(""), "RS256");
}

TEST(ClientAssertion, EcKeysSignWithEs256) {
  const TestKey& ec = TestKey::Ec("pkj-ec");
  testing::FakeRandom random;
  auto jwt = MakeClientAssertion(*KeyOf(ec, "pkj-ec"), "c", "https://op.example", 1, random);
  ASSERT_TRUE(jwt);
  auto v = VerifyAssertion(ec, *jwt);
  ASSERT_TRUE(v) << v.error().detail;
  EXPECT_EQ(v->header.GetString("alg").value_or(""), "ES256");
}

TEST(ClientAssertion, EveryAssertionHasItsOwnJti) {
  auto key = KeyOf(TestKey::Ec("pkj-ec"), "pkj-ec");
  testing::FakeRandom random;
  std::set<std::string> jtis;
  for (int i = 0; i < 50; ++i) {
    auto jwt = MakeClientAssertion(*key, "c", "https://op.example", 1, random);
    ASSERT_TRUE(jwt);
    auto v = VerifyAssertion(TestKey::Ec("pkj-ec"), *jwt);
    ASSERT_TRUE(v);
    jtis.insert(v->claims.GetString("jti").value_or(""));
  }
  EXPECT_EQ(jtis.size(), 50u);
}

TEST(ClientAssertion, NoAssertionWhenTheRandomGeneratorFails) {
  auto key = KeyOf(TestKey::Ec("pkj-ec"), "pkj-ec");
  testing::FakeRandom random;
  random.set_fail(true);
  auto jwt = MakeClientAssertion(*key, "c", "https://op.example", 1, random);
  ASSERT_FALSE(jwt);
  EXPECT_EQ(jwt.code(), Errc::kCryptoFailure);
}

// --- where it is sent -------------------------------------------------------------------------

constexpr char kTokenJson[] =
    R"({"access_token":"AT-1","token_type":"Bearer","expires_in":3600,"refresh_token":"RT-2"})";

class PrivateKeyJwtCallsTest : public ::testing::Test {
 protected:
  PrivateKeyJwtCallsTest()
      : t_([](ProviderConfig& p) {
          p.client_secret.clear();
          p.token_auth = TokenEndpointAuth::kPrivateKeyJwt;
          p.signing_keys = {KeyOf(TestKey::Rsa("pkj-rsa"), "pkj-rsa"),
                            KeyOf(TestKey::Ec("pkj-ec"), "pkj-ec")};
        }) {
    t_.http.Respond(TestSite::kDiscoveryUrl, 200,
                    std::string(R"({"issuer":"https://op.example",)") +
                        R"("authorization_endpoint":"https://op.example/authorize",)" +
                        R"("token_endpoint":"https://op.example/token",)" +
                        R"("jwks_uri":"https://op.example/jwks",)" +
                        R"("revocation_endpoint":"https://op.example/revoke",)" +
                        R"("introspection_endpoint":"https://op.example/introspect",)" +
                        R"("pushed_authorization_request_endpoint":"https://op.example/par"})");
    t_.http.Respond(TestSite::kTokenUrl, 200, kTokenJson);
    t_.http.Respond(TestSite::kRevokeUrl, 200, "");
    t_.http.Respond("https://op.example/introspect", 200, R"({"active":false})");
    t_.http.Respond("https://op.example/par", 201,
                    R"({"request_uri":"urn:ietf:params:oauth:request_uri:x","expires_in":60})");
    t_.clock.Set(1700000000);
  }

  // The request to `url` carries a valid assertion by the first key and no secret.
  void ExpectAuthenticatedByAssertion(const std::string& url) {
    auto req = t_.http.LastFor(url);
    ASSERT_TRUE(req.has_value()) << url;
    auto form = Form(req->body);
    EXPECT_EQ(form["client_id"], TestSite::kClientId) << url;
    EXPECT_EQ(form["client_assertion_type"],
              "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        << url;
    EXPECT_EQ(form.count("client_secret"), 0u) << url;
    EXPECT_EQ(Header(*req, "Authorization"), "") << url;
    auto v = VerifyAssertion(TestKey::Rsa("pkj-rsa"), form["client_assertion"]);
    ASSERT_TRUE(v) << url << ": " << v.error().detail;
    EXPECT_EQ(v->header.GetString("kid").value_or(""), "pkj-rsa") << "the first key signs";
    EXPECT_EQ(v->claims.GetString("aud").value_or(""), TestSite::kIssuer);
    EXPECT_EQ(v->claims.GetInt("iat").value_or(0), 1700000000);
  }

  TestSite t_;
};

TEST_F(PrivateKeyJwtCallsTest, CodeExchangeIsAuthenticatedWithAnAssertion) {
  ASSERT_TRUE(ExchangeCode(*t_.provider, "code", "verifier"));
  ExpectAuthenticatedByAssertion(TestSite::kTokenUrl);
}

TEST_F(PrivateKeyJwtCallsTest, RefreshIsAuthenticatedWithAnAssertion) {
  ASSERT_TRUE(RefreshTokens(*t_.provider, "RT-1"));
  ExpectAuthenticatedByAssertion(TestSite::kTokenUrl);
  EXPECT_EQ(Form(t_.http.LastFor(TestSite::kTokenUrl)->body)["grant_type"], "refresh_token");
}

TEST_F(PrivateKeyJwtCallsTest, RevocationIsAuthenticatedWithAnAssertion) {
  ASSERT_TRUE(RevokeToken(*t_.provider, "RT-1", "refresh_token"));
  ExpectAuthenticatedByAssertion(TestSite::kRevokeUrl);
}

TEST_F(PrivateKeyJwtCallsTest, IntrospectionIsAuthenticatedWithAnAssertion) {
  ASSERT_TRUE(Introspect(*t_.provider, "AT-1"));
  ExpectAuthenticatedByAssertion("https://op.example/introspect");
}

TEST_F(PrivateKeyJwtCallsTest, PushedAuthorizationIsAuthenticatedWithAnAssertion) {
  // The authorization parameters already hold client_id: it is sent once (Form() checks).
  auto pushed = PushAuthorizationRequest(*t_.provider, "https://op.example/par",
                                         {{"client_id", TestSite::kClientId}, {"scope", "openid"}});
  ASSERT_TRUE(pushed) << pushed.error().detail;
  ExpectAuthenticatedByAssertion("https://op.example/par");
}

TEST_F(PrivateKeyJwtCallsTest, TwoCallsNeverShareAnAssertion) {
  ASSERT_TRUE(RefreshTokens(*t_.provider, "RT-1"));
  std::string first = Form(t_.http.LastFor(TestSite::kTokenUrl)->body)["client_assertion"];
  ASSERT_TRUE(RefreshTokens(*t_.provider, "RT-1"));  // same second: jti still differs
  std::string second = Form(t_.http.LastFor(TestSite::kTokenUrl)->body)["client_assertion"];
  EXPECT_NE(first, second);
}

TEST_F(PrivateKeyJwtCallsTest, NoKeyMaterialInErrorsOrLogs) {
  t_.http.Respond(TestSite::kTokenUrl, 401, R"({"error":"invalid_client"})");
  auto r = RefreshTokens(*t_.provider, "RT-1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("invalid_client"), std::string::npos);
  std::string d = Json::Parse(t_.provider_config->signing_keys[0]->PrivateJwkJson())
                      ->GetString("d")
                      .value_or("?");
  EXPECT_EQ(r.error().detail.find(d), std::string::npos);
  EXPECT_FALSE(t_.log.AnyContains(d));
  EXPECT_FALSE(t_.log.AnyContains("client_assertion="));
}

// --- configuration ----------------------------------------------------------------------------

SiteSettings KeySite() {
  SiteSettings s;
  Set(s.issuer, "https://coinpayportal.com");
  Set(s.client_id, "cid");
  Set(s.redirect_uri, "https://example-business.com/api/auth/callback/coinpay");
  Set(s.passphrases, {"a-long-random-passphrase-0123456789"});
  Set(s.token_auth, TokenEndpointAuth::kPrivateKeyJwt);
  return s;
}

SiteContext Served() {
  SiteContext c;
  c.server_name = "example-business.com";
  c.tree.callback_locations = {"/api/auth/callback"};
  return c;
}

std::string Refusal(const SiteSettings& s, const ProviderSections& sections = {}) {
  auto site = BuildSiteConfig(s, sections, Served());
  return site ? "" : site.error().detail;
}

TEST(PrivateKeyJwtConfig, ChosenWithoutAKeyIsRefusedNamingTheFix) {
  EXPECT_EQ(Refusal(KeySite()),
            "CoinpayTokenEndpointAuth private_key_jwt needs a key: add CoinpayPrivateKeyFile "
            "/etc/apache2/coinpay-client.key (an RSA key of 2048 bits or more, or EC P-256) and "
            "register its public key at the provider (SetHandler coinpay-jwks publishes it)");
}

TEST(PrivateKeyJwtConfig, AKeyAndNoSecretIsAccepted) {
  SiteSettings s = KeySite();
  Set(s.private_keys, {KeyOf(TestKey::Rsa("pkj-rsa"), "k1"), KeyOf(TestKey::Ec("pkj-ec"), "k2")});
  auto site = BuildSiteConfig(s, {}, Served());
  ASSERT_TRUE(site) << site.error().detail;
  const ProviderConfig& p = site->providers.front();
  EXPECT_EQ(p.token_auth, TokenEndpointAuth::kPrivateKeyJwt);
  ASSERT_EQ(p.signing_keys.size(), 2u);
  EXPECT_EQ(p.signing_keys[0]->kid(), "k1");
  EXPECT_TRUE(p.login_enabled);
}

TEST(PrivateKeyJwtConfig, ASecretNextToPrivateKeyJwtIsRefused) {
  SiteSettings s = KeySite();
  Set(s.private_keys, {KeyOf(TestKey::Ec("pkj-ec"), "k2")});
  Set(s.client_secret, "left-over-secret");
  EXPECT_EQ(Refusal(s),
            "CoinpayClientSecret is set but CoinpayTokenEndpointAuth private_key_jwt never sends "
            "it: remove CoinpayClientSecret");
}

TEST(PrivateKeyJwtConfig, AProviderSectionNeedsItsOwnKey) {
  SiteSettings server;
  Set(server.passphrases, {"a-long-random-passphrase-0123456789"});
  SiteSettings section = KeySite();
  section.passphrases = {};
  EXPECT_EQ(
      Refusal(server, {{"paylent", &section}})
          .rfind("CoinpayTokenEndpointAuth private_key_jwt in <CoinpayProvider paylent> needs a "
                 "key",
                 0),
      0u);
}

TEST(PrivateKeyJwtConfig, PushedAuthorizationOnIsRefusedForAPlainOAuth2Provider) {
  SiteSettings server;
  Set(server.passphrases, {"a-long-random-passphrase-0123456789"});
  SiteSettings cb;
  Set(cb.profile, ProviderProfile::kOAuth2);
  Set(cb.client_id, "cb");
  Set(cb.client_secret, "secret");
  Set(cb.redirect_uri, "https://example-business.com/api/auth/callback/coinbase");
  Set(cb.authorization_endpoint, "https://login.coinbase.com/oauth2/auth");
  Set(cb.token_endpoint, "https://login.coinbase.com/oauth2/token");
  Set(cb.user_endpoint, "https://api.coinbase.com/v2/user");
  Set(cb.subject_pointer, "/data/id");
  EXPECT_EQ(Refusal(server, {{"coinbase", &cb}}), "");
  Set(cb.par, ParMode::kOn);
  EXPECT_EQ(Refusal(server, {{"coinbase", &cb}}),
            "CoinpayPushedAuthorization on in <CoinpayProvider coinbase> needs the provider's "
            "discovery document, which a plain OAuth 2.0 provider (CoinpayProviderProfile "
            "oauth2) has not: set CoinpayPushedAuthorization off");
}

TEST(PrivateKeyFilesKind, RefusesWhatIsNotAStrongPrivateKeyNamingTheFix) {
  kinds::PrivateKeyFiles::Type keys;
  std::string bad = kinds::PrivateKeyFiles::Append("hello", nullptr, nullptr, keys);
  EXPECT_EQ(bad.rfind("cannot use this key: not a PEM private key. It takes an unencrypted PEM "
                      "private key: RSA of 2048 bits or more",
                      0),
            0u)
      << bad;
  std::string pub =
      kinds::PrivateKeyFiles::Append(TestKey::Ec("pkj-ec").PublicPem(), "", nullptr, keys);
  EXPECT_EQ(pub.rfind("cannot use this key: not a PEM private key", 0), 0u) << pub;
  std::string ed =
      kinds::PrivateKeyFiles::Append(TestKey::Ed25519("pkj-ed").PrivatePem(), "", nullptr, keys);
  EXPECT_EQ(ed.rfind("cannot use this key: the key is neither RSA nor EC", 0), 0u) << ed;
  EXPECT_TRUE(keys.empty());
}

TEST(PrivateKeyFilesKind, ReadsKeysInOrderWithTheirKidOrThumbprint) {
  kinds::PrivateKeyFiles::Type keys;
  EXPECT_EQ(kinds::PrivateKeyFiles::Append(TestKey::Rsa("pkj-rsa").PrivatePem(), "2026-12", nullptr,
                                           keys),
            nullptr);
  EXPECT_EQ(
      kinds::PrivateKeyFiles::Append(TestKey::Ec("pkj-ec").PrivatePem(), nullptr, nullptr, keys),
      nullptr);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0]->kid(), "2026-12");
  EXPECT_EQ(keys[1]->kid(), keys[1]->Thumbprint());
}

TEST(PrivateKeyFilesKind, AnRsaKeyCanSignWithPs256AndAnAlgThatDoesNotFitIsRefused) {
  kinds::PrivateKeyFiles::Type keys;
  EXPECT_EQ(kinds::PrivateKeyFiles::Append(TestKey::Rsa("pkj-rsa").PrivatePem(), "", "PS256", keys),
            nullptr);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]->alg(), "PS256");
  EXPECT_EQ(keys[0]->kid(), keys[0]->Thumbprint()) << "an empty kid keeps the default";
  std::string bad =
      kinds::PrivateKeyFiles::Append(TestKey::Ec("pkj-ec").PrivatePem(), "e", "RS256", keys);
  EXPECT_EQ(bad.rfind("cannot use this key: alg RS256 does not fit an EC P-256 key: use ES256", 0),
            0u)
      << bad;
  EXPECT_EQ(keys.size(), 1u);
}

TEST(PrivateKeyFilesKind, TwoKeysWithOneKidAreRefused) {
  kinds::PrivateKeyFiles::Type keys;
  ASSERT_EQ(
      kinds::PrivateKeyFiles::Append(TestKey::Rsa("pkj-rsa").PrivatePem(), "k", nullptr, keys),
      nullptr);
  EXPECT_STREQ(
      kinds::PrivateKeyFiles::Append(TestKey::Ec("pkj-ec").PrivatePem(), "k", nullptr, keys),
      "two keys have the key id k: give each CoinpayPrivateKeyFile line its own kid "
      "(second argument)");
}

TEST(PrivateKeyFilesKind, PushedAuthorizationTakesAutoOnOff) {
  ParMode mode{};
  EXPECT_EQ(kinds::PushedAuthorization::Parse("ON", mode), nullptr);
  EXPECT_EQ(mode, ParMode::kOn);
  EXPECT_STREQ(kinds::PushedAuthorization::Parse("always", mode),
               "takes auto (when the provider advertises it), on (always; sign-in fails without "
               "it) or off");
}

// --- the published key set --------------------------------------------------------------------

TEST(PublishedJwks, HoldsEveryConfiguredPublicKeyOnceAndNoPrivateMember) {
  ProviderConfig a;
  ProviderConfig b;
  auto rsa = KeyOf(TestKey::Rsa("pkj-rsa"), "k1");
  auto ec = KeyOf(TestKey::Ec("pkj-ec"), "k2");
  a.signing_keys = {rsa, ec};
  b.signing_keys = {KeyOf(TestKey::Ec("pkj-ec"), "k2")};  // the same key in another provider
  std::string text = PublishedJwks({&a, &b});
  auto doc = Json::Parse(text);
  ASSERT_TRUE(doc);
  Json keys = doc->Get("keys");
  ASSERT_EQ(keys.Size(), 2u);
  EXPECT_EQ(keys.At(0).GetString("kid").value_or(""), "k1");
  EXPECT_EQ(keys.At(1).GetString("kid").value_or(""), "k2");
  for (size_t i = 0; i < keys.Size(); ++i) {
    for (const char* secret : {"d", "p", "q", "dp", "dq", "qi"}) {
      EXPECT_TRUE(keys.At(i).Get(secret).IsNull());
    }
    EXPECT_EQ(keys.At(i).GetString("use").value_or(""), "sig");
  }
  // A provider can verify our assertions with exactly this set.
  auto jwks = Jwks::Parse(text);
  ASSERT_TRUE(jwks);
  testing::FakeRandom random;
  auto jwt = MakeClientAssertion(*ec, "c", "https://op.example", 1, random);
  ASSERT_TRUE(jwt);
  EXPECT_TRUE(VerifyJws(*jwt, **jwks, {"ES256"}));
}

}  // namespace
}  // namespace coinpay
