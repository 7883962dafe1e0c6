// OpenID Connect Back-Channel Logout: the logout token's rules, and which sessions a valid one
// ends (those of its sid, or of its sub) and which it leaves alone.
#include "core/backchannel_logout.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/encoding.h"
#include "claims_json.h"
#include "fakes.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::TestKey;
using testing::TestSite;

constexpr char kEventJson[] = R"({"http://schemas.openid.net/event/backchannel-logout":{}})";

Json ClaimsOf(std::string_view text) {
  auto j = Json::Parse(text);
  EXPECT_TRUE(j.ok()) << text;
  return j.ok() ? *j : Json();
}

// --- CheckLogoutTokenShape --------------------------------------------------------------------

TEST(CheckLogoutTokenShape, AcceptsEventJtiAndSubOrSid) {
  std::string ev = kEventJson;
  EXPECT_TRUE(CheckLogoutTokenShape(ClaimsOf(R"({"sub":"u","jti":"j","events":)" + ev + "}")).ok());
  EXPECT_TRUE(CheckLogoutTokenShape(ClaimsOf(R"({"sid":"s","jti":"j","events":)" + ev + "}")).ok());
  EXPECT_TRUE(
      CheckLogoutTokenShape(ClaimsOf(R"({"sub":"u","sid":"s","jti":"j","events":)" + ev + "}"))
          .ok());
}

TEST(CheckLogoutTokenShape, RefusesAMissingOrMalformedEvent) {
  for (
      std::string text : {
          std::string(R"({"sub":"u","jti":"j"})"),
          std::string(R"({"sub":"u","jti":"j","events":{}})"),
          std::string(R"({"sub":"u","jti":"j","events":"backchannel-logout"})"),
          std::string(
              R"({"sub":"u","jti":"j","events":["http://schemas.openid.net/event/backchannel-logout"]})"),
          std::string(
              R"({"sub":"u","jti":"j","events":{"http://schemas.openid.net/event/backchannel-logout":true}})"),
          std::string(
              R"({"sub":"u","jti":"j","events":{"http://schemas.openid.net/event/other":{}}})"),
      }) {
    Status st = CheckLogoutTokenShape(ClaimsOf(text));
    ASSERT_FALSE(st.ok()) << text;
    EXPECT_EQ(st.code(), Errc::kMissingClaim) << text;
  }
}

TEST(CheckLogoutTokenShape, RefusesANonce) {
  std::string ev = kEventJson;
  Status st =
      CheckLogoutTokenShape(ClaimsOf(R"({"sub":"u","jti":"j","nonce":"n","events":)" + ev + "}"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::kBadInput);
  // Whatever its type.
  EXPECT_FALSE(
      CheckLogoutTokenShape(ClaimsOf(R"({"sub":"u","jti":"j","nonce":0,"events":)" + ev + "}"))
          .ok());
}

TEST(CheckLogoutTokenShape, RefusesNeitherSubNorSid) {
  std::string ev = kEventJson;
  Status st = CheckLogoutTokenShape(ClaimsOf(R"({"jti":"j","events":)" + ev + "}"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::kMissingClaim);
  // Non-string sub / sid do not count.
  EXPECT_FALSE(
      CheckLogoutTokenShape(ClaimsOf(R"({"sub":5,"sid":["s"],"jti":"j","events":)" + ev + "}"))
          .ok());
}

TEST(CheckLogoutTokenShape, RefusesAMissingJti) {
  std::string ev = kEventJson;
  Status st = CheckLogoutTokenShape(ClaimsOf(R"({"sub":"u","events":)" + ev + "}"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::kMissingClaim);
  EXPECT_FALSE(CheckLogoutTokenShape(ClaimsOf(R"({"sub":"u","jti":7,"events":)" + ev + "}")).ok());
}

// --- HandleBackchannelLogout ------------------------------------------------------------------

class BackchannelLogoutTest : public ::testing::Test {
 protected:
  BackchannelLogoutTest() {
    t_.ServeDiscovery();
    t_.ServeJwks(testing::MakeJwks({&key_}));
  }

  std::string NewSession(const std::string& sub, const std::string& sid) {
    SessionRecord r = t_.NewRecord("");
    r.sub = sub;
    r.user = sub;
    r.access_token = "AT-" + sub + "-" + sid;
    r.access_expires_at = t_.clock.NowSeconds() + 3600;
    auto id = t_.sessions->Create(r, t_.clock.NowSeconds(), sid);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : std::string();
  }
  bool Alive(const std::string& id) {
    auto got = t_.sessions->LoadById(id, t_.clock.NowSeconds());
    EXPECT_TRUE(got.ok());
    return got.ok() && got->has_value();
  }

  // Logout-token claims; overrides "name=json;name=json", json "-" removes the claim.
  std::string Claims(const std::string& overrides = "") {
    testing::ClaimMap c = {
        {"iss", "\"" + std::string(TestSite::kIssuer) + "\""},
        {"aud", "\"" + std::string(TestSite::kClientId) + "\""},
        {"iat", std::to_string(t_.clock.NowSeconds())},
        {"jti", "\"jti-" + std::to_string(++jti_counter_) + "\""},
        {"events", kEventJson},
        {"sid", "\"sid-A\""},
        {"sub", "\"alice\""},
    };
    return testing::ClaimsJson(std::move(c), overrides);
  }

  Action Post(const std::string& body) {
    Site site = t_.site();
    return HandleBackchannelLogout(site, body);
  }
  Action PostToken(const std::string& token) { return Post("logout_token=" + UrlEncode(token)); }

  void ExpectRefused(const Action& a) {
    EXPECT_EQ(a.kind, Action::Kind::kRespond);
    EXPECT_EQ(a.status, 400);
    EXPECT_EQ(a.content_type, "application/json");
    EXPECT_EQ(a.body, "{\"error\":\"invalid_request\"}\n");
  }

  TestSite t_;
  const TestKey& key_ = TestKey::Rsa("rsa-bcl-1");
  int jti_counter_ = 0;
};

TEST_F(BackchannelLogoutTest, ValidTokenWithSidEndsTheSessionsOfThatSid) {
  std::string a1 = NewSession("alice", "sid-A");
  std::string a2 = NewSession("alice", "sid-A");
  std::string a_other_device = NewSession("alice", "sid-B");
  std::string bob = NewSession("bob", "sid-C");

  Action a = PostToken(key_.SignJwt(Claims()));
  EXPECT_EQ(a.kind, Action::Kind::kRespond);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.content_type, "application/json");
  bool no_store = false;
  for (const auto& [k, v] : a.headers) {
    no_store |= k == "Cache-Control" && v == "no-store";
  }
  EXPECT_TRUE(no_store);

  EXPECT_FALSE(Alive(a1));
  EXPECT_FALSE(Alive(a2));
  EXPECT_TRUE(Alive(a_other_device));
  EXPECT_TRUE(Alive(bob));
  EXPECT_EQ(t_.Counted(Metric::kSessionEndedBackchannel), 2u);  // the status page's count
}

TEST_F(BackchannelLogoutTest, ValidTokenWithOnlySubEndsEverySessionOfThatUser) {
  std::string a1 = NewSession("alice", "sid-A");
  std::string a2 = NewSession("alice", "sid-B");
  std::string a3 = NewSession("alice", "");
  std::string bob = NewSession("bob", "sid-A2");

  EXPECT_EQ(PostToken(key_.SignJwt(Claims("sid=-"))).status, 200);
  EXPECT_FALSE(Alive(a1));
  EXPECT_FALSE(Alive(a2));
  EXPECT_FALSE(Alive(a3));
  EXPECT_TRUE(Alive(bob));
}

TEST_F(BackchannelLogoutTest, ValidTokenWithOnlySidNeedsNoSub) {
  std::string a1 = NewSession("alice", "sid-A");
  std::string bob = NewSession("bob", "sid-B");
  EXPECT_EQ(PostToken(key_.SignJwt(Claims("sub=-"))).status, 200);
  EXPECT_FALSE(Alive(a1));
  EXPECT_TRUE(Alive(bob));
}

TEST_F(BackchannelLogoutTest, TokenForAnUnknownSessionSucceedsAndEndsNothing) {
  std::string a1 = NewSession("alice", "sid-A");
  EXPECT_EQ(PostToken(key_.SignJwt(Claims("sid=\"sid-gone\";sub=\"carol\""))).status, 200);
  EXPECT_TRUE(Alive(a1));
}

TEST_F(BackchannelLogoutTest, TokenWithoutExpIsAccepted) {
  std::string a1 = NewSession("alice", "sid-A");
  EXPECT_EQ(PostToken(key_.SignJwt(Claims("exp=-"))).status, 200);
  EXPECT_FALSE(Alive(a1));
}

TEST_F(BackchannelLogoutTest, ReplayedJtiIsRefused) {
  std::string token = key_.SignJwt(Claims("jti=\"once\""));
  ASSERT_EQ(PostToken(token).status, 200);
  std::string a_new = NewSession("alice", "sid-A");
  ExpectRefused(PostToken(token));
  EXPECT_TRUE(Alive(a_new));
  // The same jti in a freshly signed token is a replay too.
  t_.clock.Advance(5);
  ExpectRefused(PostToken(key_.SignJwt(Claims("jti=\"once\""))));
  EXPECT_TRUE(Alive(a_new));
  // Another jti is fine.
  EXPECT_EQ(PostToken(key_.SignJwt(Claims("jti=\"twice\""))).status, 200);
  EXPECT_FALSE(Alive(a_new));
}

TEST_F(BackchannelLogoutTest, RefusedTokenDoesNotSpendItsJti) {
  // A forged token cannot block the genuine one by using its jti first.
  ExpectRefused(PostToken(testing::TamperSignature(key_.SignJwt(Claims("jti=\"j-1\"")))));
  std::string a1 = NewSession("alice", "sid-A");
  EXPECT_EQ(PostToken(key_.SignJwt(Claims("jti=\"j-1\""))).status, 200);
  EXPECT_FALSE(Alive(a1));
}

TEST_F(BackchannelLogoutTest, BadTokensAreRefusedAndEndNothing) {
  std::string a1 = NewSession("alice", "sid-A");
  std::string a2 = NewSession("alice", "sid-B");
  auto stranger = TestKey::Generate(TestKey::Kind::kRsa, "stranger");
  int64_t now = t_.clock.NowSeconds();
  const std::map<std::string, std::string> bad = {
      {"bad signature", testing::TamperSignature(key_.SignJwt(Claims()))},
      {"other key, our kid", stranger->SignJwtWithKid(Claims(), key_.kid())},
      {"unknown key", stranger->SignJwt(Claims())},
      {"alg none", testing::ForgeAlgNone(Claims(), key_.kid())},
      {"hs256 with public key", testing::ForgeHs256(Claims(), key_.PublicPem(), key_.kid())},
      {"wrong aud", key_.SignJwt(Claims("aud=\"another-client\""))},
      {"no aud", key_.SignJwt(Claims("aud=-"))},
      {"wrong iss", key_.SignJwt(Claims("iss=\"https://evil.example\""))},
      {"no iss", key_.SignJwt(Claims("iss=-"))},
      {"no iat", key_.SignJwt(Claims("iat=-"))},
      {"iat in the future", key_.SignJwt(Claims("iat=" + std::to_string(now + 3600)))},
      {"iat too old", key_.SignJwt(Claims("iat=" + std::to_string(now - 2 * 24 * 3600)))},
      {"expired", key_.SignJwt(Claims("exp=" + std::to_string(now - 3600)))},
      {"nonce", key_.SignJwt(Claims("nonce=\"n\""))},
      {"no event", key_.SignJwt(Claims("events=-"))},
      {"no jti", key_.SignJwt(Claims("jti=-"))},
      {"neither sub nor sid", key_.SignJwt(Claims("sub=-;sid=-"))},
      {"garbage", "not.a.jwt"},
  };
  for (const auto& [what, token] : bad) {
    SCOPED_TRACE(what);
    ExpectRefused(PostToken(token));
  }
  EXPECT_TRUE(Alive(a1));
  EXPECT_TRUE(Alive(a2));
}

TEST_F(BackchannelLogoutTest, MissingEmptyOrRepeatedLogoutTokenParameterIsRefused) {
  std::string a1 = NewSession("alice", "sid-A");
  std::string token = key_.SignJwt(Claims());
  for (const std::string& body : {
           std::string(),
           std::string("token=") + token,
           std::string("logout_token="),
           std::string("logout_token"),
           "logout_token=" + token + "&logout_token=" + token,
           "logout_token=" + token + "&logout_token=",
           "logout_token=" + token + "&x=%zz",
       }) {
    SCOPED_TRACE(body.substr(0, 40));
    ExpectRefused(Post(body));
  }
  EXPECT_TRUE(Alive(a1));
  EXPECT_EQ(t_.http.CountFor(TestSite::kJwksUrl), 0);
  // The same token alone, with other parameters around it, is fine.
  EXPECT_EQ(Post("a=1&logout_token=" + UrlEncode(token) + "&b=2").status, 200);
  EXPECT_FALSE(Alive(a1));
}

TEST_F(BackchannelLogoutTest, StoreOutageIs503) {
  std::string token = key_.SignJwt(Claims());
  t_.store.set_unavailable(true);
  Action a = PostToken(token);
  EXPECT_EQ(a.status, 503);
  EXPECT_NE(a.body.find("temporarily_unavailable"), std::string::npos);
}

TEST_F(BackchannelLogoutTest, TheTokenIsNeverLogged) {
  std::string good = key_.SignJwt(Claims());
  std::string bad = key_.SignJwt(Claims("aud=\"x\""));
  (void)PostToken(good);
  (void)PostToken(bad);
  (void)PostToken(good);
  EXPECT_FALSE(t_.log.AnyContains(good.substr(good.rfind('.') + 1, 30)));
  EXPECT_FALSE(t_.log.AnyContains(bad.substr(bad.rfind('.') + 1, 30)));
}

}  // namespace
}  // namespace coinpay
