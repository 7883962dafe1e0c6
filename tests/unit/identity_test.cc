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

std::map<std::string, std::string> AsMap(const std::vector<Claim>& v) {
  std::map<std::string, std::string> out;
  for (const Claim& c : v) {
    out.emplace(c.name, c.value);
  }
  return out;
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
  auto passed = IdentityFromSession(Record(), false, true, 1000);
  EXPECT_EQ(passed->user, "u-7");
  EXPECT_EQ(passed->provider, "default");
  EXPECT_EQ(passed->issuer, "https://coinpay.example");
  EXPECT_EQ(AsMap(passed->claims)["email"], "u7@example.com");
  EXPECT_EQ(passed->access_token, "AT-7");
  EXPECT_EQ(passed->access_token_expires_at, 2000);

  EXPECT_TRUE(IdentityFromSession(Record(), false, false, 1000)->access_token.empty());
  EXPECT_TRUE(IdentityFromSession(Record(), false, true, 2000)->access_token.empty())
      << "an expired access token is never handed on";
  SessionRecord no_lifetime = Record();
  no_lifetime.access_expires_at = 0;
  EXPECT_EQ(IdentityFromSession(std::move(no_lifetime), false, true, 1000)->access_token, "AT-7");
}

TEST(IdentityFromSession, QualifiesTheUserWhereSeveralProvidersAreAccepted) {
  EXPECT_FALSE(IdentityFromSession(Record(), false, false, 1000)->qualify_user);
  EXPECT_TRUE(IdentityFromSession(Record(), true, false, 1000)->qualify_user);
}

// The request path reads the stored record in place: the same identity as from the record in
// memory, pointing into the stored bytes, which it keeps alive after the reader lets go.
TEST(IdentityFromStoredSession, IsTheSameIdentityReadInPlace) {
  for (bool pass_token : {false, true}) {
    for (int64_t now : {1000, 2000}) {
      auto stored = std::make_shared<const StoredSession>(EncodeSession(Record()));
      ASSERT_TRUE(stored->view.has_value());
      const char* begin = stored->bytes.data();
      const char* end = begin + stored->bytes.size();
      auto in_place = IdentityFromStoredSession(std::move(stored), true, pass_token, now);
      auto copied = IdentityFromSession(Record(), true, pass_token, now);
      EXPECT_EQ(in_place->user, copied->user);
      EXPECT_EQ(in_place->provider, copied->provider);
      EXPECT_EQ(in_place->issuer, copied->issuer);
      EXPECT_EQ(in_place->qualify_user, copied->qualify_user);
      EXPECT_EQ(AsMap(in_place->claims), AsMap(copied->claims));
      EXPECT_EQ(in_place->claims_json, copied->claims_json);
      EXPECT_EQ(in_place->access_token, copied->access_token);
      EXPECT_EQ(in_place->access_token_expires_at, copied->access_token_expires_at);
      EXPECT_GE(in_place->user.data(), begin);
      EXPECT_LE(in_place->user.data() + in_place->user.size(), end) << "not read in place";
      EXPECT_FALSE(in_place->terminated) << "stored strings are not NUL-terminated";
      // The glue copies the claims in one piece: every claim lies in claims_block.
      for (const Claim& c : in_place->claims) {
        EXPECT_GE(c.name.data(), in_place->claims_block.data());
        EXPECT_LE(c.value.data() + c.value.size(),
                  in_place->claims_block.data() + in_place->claims_block.size());
      }
    }
  }
}

TEST(IdentityFromStoredSession, ANonRecordIsNobody) {
  auto id =
      IdentityFromStoredSession(std::make_shared<const StoredSession>("junk"), false, false, 1000);
  EXPECT_TRUE(id->user.empty());
  EXPECT_TRUE(id->claims.empty());
}

// A cached token's identity serves many requests: its claims' variable and header names are
// made once, with it, and its strings can be handed on as C strings.
TEST(IdentityFromTokenClaims, CarriesEachClaimsVariableAndHeaderName) {
  ProviderConfig p;
  auto claims = Json::Parse(R"({"sub":"u-1","preferred.user-name":"al"})");
  ASSERT_TRUE(claims.ok());
  auto id = IdentityFromTokenClaims(p, *claims);
  ASSERT_EQ(id->claims.size(), 2u);
  ASSERT_EQ(id->claim_variables.size(), 2u);
  ASSERT_EQ(id->claim_headers.size(), 2u);
  EXPECT_TRUE(id->terminated);
  for (size_t i = 0; i < id->claims.size(); ++i) {
    EXPECT_EQ(id->claim_variables[i], ClaimVariableName(id->claims[i].name));
    EXPECT_EQ(id->claim_headers[i], ClaimHeaderName(id->claims[i].name));
    EXPECT_EQ(id->claims[i].value.data()[id->claims[i].value.size()], '\0');
  }
  EXPECT_EQ(ClaimVariableName("preferred.user-name"), "COINPAY_CLAIM_preferred_user_name");
  EXPECT_EQ(ClaimHeaderName("preferred.user-name"), "Coinpay-Claim-preferred-user-name");
  EXPECT_EQ(ClaimVariableName("e\xc3\xa9"), "COINPAY_CLAIM_e__");
}

}  // namespace
}  // namespace coinpay
