// What the application learns about the user: one place builds it for sessions and tokens.
#include "core/identity.h"

#include <gtest/gtest.h>

#include <map>

#include "core/json.h"
#include "core/provider_config.h"

namespace coinpay {
namespace {

std::map<std::string, std::string> AsMap(
    const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}

TEST(ClaimsForApplication, DropsTokenMechanicsAndControlCharacters) {
  auto claims = Json::Parse(R"({"sub":"a","nonce":"n","at_hash":"h","name":"x\r\ny","n":5})");
  ASSERT_TRUE(claims.ok());
  auto m = AsMap(ClaimsForApplication(*claims));
  EXPECT_EQ(m.count("nonce"), 0u);
  EXPECT_EQ(m.count("at_hash"), 0u);
  EXPECT_EQ(m["sub"], "a");
  EXPECT_EQ(m["name"], "x  y");
  EXPECT_EQ(m["n"], "5");
}

TEST(ProviderNames, TheTopLevelProviderIsCalledDefaultWhereUsersSeeIt) {
  EXPECT_EQ(DisplayedProviderName(""), "default");
  EXPECT_EQ(DisplayedProviderName("coinbase"), "coinbase");
  EXPECT_EQ(ConfiguredProviderName("default"), "");
  EXPECT_EQ(ConfiguredProviderName("coinbase"), "coinbase");
}

TEST(IdentityFromTokenClaims, TheUserIsTheSubjectOrElseTheClient) {
  ProviderConfig p;
  p.name = "paylent";
  p.issuer = "https://paylent.example";
  auto user = Json::Parse(R"({"sub":"u-1","scope":"read","nonce":"n"})");
  auto client = Json::Parse(R"({"client_id":"svc-9","scope":"read"})");
  ASSERT_TRUE(user.ok() && client.ok());

  auto a = IdentityFromTokenClaims(p, *user);
  EXPECT_EQ(a->user, "u-1");
  EXPECT_EQ(a->provider, "paylent");
  EXPECT_EQ(a->issuer, "https://paylent.example");
  EXPECT_EQ(AsMap(a->claims).count("nonce"), 0u);
  ASSERT_NE(a->parsed_claims, nullptr);
  EXPECT_EQ(a->parsed_claims->GetString("scope").value_or(""), "read");
  EXPECT_TRUE(a->access_token.empty());

  EXPECT_EQ(IdentityFromTokenClaims(p, *client)->user, "svc-9");
  p.name = "";
  EXPECT_EQ(IdentityFromTokenClaims(p, *user)->provider, "default");
}

SessionRecord Record() {
  SessionRecord s;
  s.user = "u-7";
  s.provider = "";
  s.issuer = "https://coinpay.example";
  s.claims = {{"email", "u7@example.com"}};
  s.claims_json = R"({"sub":"u-7","email":"u7@example.com"})";
  s.access_token = "AT-7";
  s.access_expires_at = 2000;
  return s;
}

TEST(IdentityFromSession, PassesTheAccessTokenOnlyWhereAskedAndWhileValid) {
  Identity passed = IdentityFromSession(Record(), false, true, 1000);
  EXPECT_EQ(passed.user, "u-7");
  EXPECT_EQ(passed.provider, "default");
  EXPECT_EQ(passed.issuer, "https://coinpay.example");
  EXPECT_EQ(AsMap(passed.claims)["email"], "u7@example.com");
  EXPECT_EQ(passed.access_token, "AT-7");
  EXPECT_EQ(passed.access_token_expires_at, 2000);

  EXPECT_TRUE(IdentityFromSession(Record(), false, false, 1000).access_token.empty());
  EXPECT_TRUE(IdentityFromSession(Record(), false, true, 2000).access_token.empty())
      << "an expired access token is never handed on";
  SessionRecord no_lifetime = Record();
  no_lifetime.access_expires_at = 0;
  EXPECT_EQ(IdentityFromSession(std::move(no_lifetime), false, true, 1000).access_token, "AT-7");
}

TEST(IdentityFromSession, QualifiesTheUserWhereSeveralProvidersAreAccepted) {
  EXPECT_FALSE(IdentityFromSession(Record(), false, false, 1000).qualify_user);
  EXPECT_TRUE(IdentityFromSession(Record(), true, false, 1000).qualify_user);
}

}  // namespace
}  // namespace coinpay
