// Starting a sign-in: the authorization redirect's parameters, the sealed login cookie, safe
// return URLs, and the cap on concurrent login attempts.
#include "core/login_flow.h"

#include <gtest/gtest.h>

#include <map>

#include "core/cookies.h"
#include "core/encoding.h"
#include "core/pkce.h"
#include "fakes.h"

namespace coinpay {
namespace {

using testing::TestSite;

std::map<std::string, std::string> QueryOf(const std::string& url) {
  std::map<std::string, std::string> out;
  size_t q = url.find('?');
  auto params = ParseQuery(q == std::string::npos ? "" : url.substr(q + 1));
  EXPECT_TRUE(params.has_value());
  for (auto& [k, v] : params.value_or(Params{})) {
    EXPECT_TRUE(out.emplace(k, v).second) << "repeated " << k;
  }
  return out;
}

// name=value of a Set-Cookie line.
std::pair<std::string, std::string> CookiePair(const std::string& set_cookie) {
  std::string nv = set_cookie.substr(0, set_cookie.find(';'));
  size_t eq = nv.find('=');
  return {nv.substr(0, eq), nv.substr(eq + 1)};
}

class LoginFlowTest : public ::testing::Test {
 protected:
  LoginFlowTest() { t_.ServeDiscovery(); }
  Action Login(std::string_view query, std::string_view cookie = "", bool https = true) {
    RequestView req;
    req.method = "GET";
    req.https = https;
    req.path = "/api/auth/login/coinpay";
    req.query = query;
    req.cookie = cookie;
    Site site = t_.site();
    return HandleLoginRequest(site, req);
  }
  std::optional<LoginState> OpenLoginCookie(const std::string& set_cookie) {
    auto [name, value] = CookiePair(set_cookie);
    auto opened = t_.session_config.sealer->Open(kLoginStatePurpose, value, t_.clock.NowSeconds());
    if (!opened.ok()) {
      return std::nullopt;
    }
    return DecodeLoginState(*opened);
  }
  TestSite t_;
};

TEST_F(LoginFlowTest, RedirectCarriesEveryAuthorizationParameter) {
  Action a = Login("return_to=%2Fapp");
  ASSERT_EQ(a.status, 302);
  ASSERT_EQ(a.location.rfind(std::string(TestSite::kAuthorizeUrl) + "?", 0), 0u) << a.location;
  auto q = QueryOf(a.location);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["client_id"], TestSite::kClientId);
  EXPECT_EQ(q["redirect_uri"], TestSite::kRedirectUri);
  EXPECT_EQ(q["scope"], "openid email profile");
  EXPECT_EQ(q["code_challenge_method"], "S256");
  EXPECT_GE(Base64UrlDecode(q["state"]).value_or("").size(), 16u);  // >= 128 bits
  EXPECT_GE(Base64UrlDecode(q["nonce"]).value_or("").size(), 16u);
  EXPECT_NE(q["state"], q["nonce"]);
  EXPECT_EQ(q["code_challenge"].size(), 43u);
  EXPECT_EQ(q.count("code_verifier"), 0u);
  EXPECT_EQ(a.location.find("client_secret"), std::string::npos);
}

TEST_F(LoginFlowTest, ChallengeIsS256OfTheVerifierSealedInTheCookie) {
  Action a = Login("return_to=%2Fapp%3Fx%3D1");
  ASSERT_EQ(a.status, 302);
  auto q = QueryOf(a.location);
  ASSERT_FALSE(a.set_cookies.empty());
  auto state = OpenLoginCookie(a.set_cookies.back());
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(PkceChallengeS256(state->code_verifier), q["code_challenge"]);
  EXPECT_EQ(state->state, q["state"]);
  EXPECT_EQ(state->nonce, q["nonce"]);
  EXPECT_EQ(state->return_to, "/app?x=1");
  EXPECT_EQ(state->issued_at, t_.clock.NowSeconds());
  EXPECT_EQ(a.set_cookies.back().find(state->code_verifier), std::string::npos);
}

TEST_F(LoginFlowTest, LoginCookieIsHttpOnlyLaxSecureAndShortLived) {
  Action a = Login("");
  ASSERT_EQ(a.set_cookies.size(), 1u);
  const std::string& c = a.set_cookies[0];
  auto q = QueryOf(a.location);
  EXPECT_EQ(CookiePair(c).first, LoginCookieName(t_.session_config, q["state"]));
  EXPECT_EQ(CookiePair(c).first.rfind("coinpay_login_", 0), 0u);
  EXPECT_NE(c.find("; HttpOnly"), std::string::npos) << c;
  EXPECT_NE(c.find("; SameSite=Lax"), std::string::npos) << c;
  EXPECT_NE(c.find("; Secure"), std::string::npos) << c;
  EXPECT_NE(c.find("; Max-Age=600"), std::string::npos) << c;
  bool no_store = false;
  for (const auto& [k, v] : a.headers) {
    no_store |= k == "Cache-Control" && v == "no-store";
  }
  EXPECT_TRUE(no_store);
}

TEST_F(LoginFlowTest, PlainHttpSiteGetsNoSecureFlagUnlessConfigured) {
  Action a = Login("", "", /*https=*/false);
  ASSERT_EQ(a.set_cookies.size(), 1u);
  EXPECT_EQ(a.set_cookies[0].find("Secure"), std::string::npos);
  t_.session_config.secure_cookies = true;
  Action b = Login("", "", /*https=*/false);
  EXPECT_NE(b.set_cookies.back().find("; Secure"), std::string::npos);
}

TEST_F(LoginFlowTest, EachAttemptHasFreshStateNonceAndVerifier) {
  auto s1 = OpenLoginCookie(Login("").set_cookies.back());
  auto s2 = OpenLoginCookie(Login("").set_cookies.back());
  ASSERT_TRUE(s1 && s2);
  EXPECT_NE(s1->state, s2->state);
  EXPECT_NE(s1->nonce, s2->nonce);
  EXPECT_NE(s1->code_verifier, s2->code_verifier);
}

TEST_F(LoginFlowTest, UnsafeReturnToFallsBackToRoot) {
  for (const char* rt : {"%2F%2Fevil.com", "https%3A%2F%2Fevil.com%2F", "%2F%5Cevil.com",
                         "%2F%09%2Fevil", "javascript%3Aalert(1)", "%0D%0ALocation%3A%20x"}) {
    Action a = Login(std::string("return_to=") + rt);
    ASSERT_EQ(a.status, 302) << rt;
    auto state = OpenLoginCookie(a.set_cookies.back());
    ASSERT_TRUE(state.has_value());
    EXPECT_EQ(state->return_to, "/") << rt;
  }
}

TEST_F(LoginFlowTest, OwnOriginAndAllowListedReturnToAreKept) {
  t_.session_config.allowed_redirect_origins = {"https://partner.example.org"};
  auto own = OpenLoginCookie(
      Login("return_to=https%3A%2F%2Fexample-business.com%2Fapp").set_cookies.back());
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(own->return_to, "https://example-business.com/app");
  auto partner =
      OpenLoginCookie(Login("return_to=https%3A%2F%2Fpartner.example.org%2Fx").set_cookies.back());
  ASSERT_TRUE(partner.has_value());
  EXPECT_EQ(partner->return_to, "https://partner.example.org/x");
}

TEST_F(LoginFlowTest, RefusesRepeatedReturnToAndMalformedQuery) {
  EXPECT_EQ(Login("return_to=%2Fa&return_to=%2F%2Fevil.com").status, 400);
  EXPECT_EQ(Login("return_to=%zz").status, 400);
}

TEST_F(LoginFlowTest, CapOnLoginCookiesDropsTheOldest) {
  ASSERT_EQ(t_.session_config.max_login_attempts, 5);
  std::string header;
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    Action a = Login("");
    auto [name, value] = CookiePair(a.set_cookies.back());
    names.push_back(name);
    header = name + "=" + value + (header.empty() ? "" : "; ") + header;
    t_.clock.Advance(10);
  }
  // Present them newest first, so the oldest is found by issued_at, not by position.
  Action a = Login("", header);
  ASSERT_EQ(a.status, 302);
  std::vector<std::string> deleted;
  std::vector<std::string> set;
  for (const auto& c : a.set_cookies) {
    (c.find("Max-Age=0") != std::string::npos ? deleted : set).push_back(CookiePair(c).first);
  }
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0], names[0]);
  ASSERT_EQ(set.size(), 1u);
}

TEST_F(LoginFlowTest, BelowTheCapNothingIsDropped) {
  std::string header;
  for (int i = 0; i < 3; ++i) {
    auto [name, value] = CookiePair(Login("").set_cookies.back());
    header += (header.empty() ? "" : "; ") + name + "=" + value;
  }
  Action a = Login("", header);
  EXPECT_EQ(a.set_cookies.size(), 1u);
}

TEST_F(LoginFlowTest, ProviderUnreachableGives502) {
  t_.http.Fail(TestSite::kDiscoveryUrl);
  Action a = Login("");
  EXPECT_EQ(a.status, 502);
  EXPECT_TRUE(a.set_cookies.empty());
}

TEST_F(LoginFlowTest, RandomFailureRefusesToStart) {
  t_.random.set_fail(true);
  Action a = Login("");
  EXPECT_EQ(a.status, 503);
  EXPECT_TRUE(a.location.empty());
}

TEST(LoginState, RoundTripsAndRefusesIncompleteRecords) {
  LoginState s{"st", "no", "ve", "/r", "p", 42, {}};
  auto back = DecodeLoginState(EncodeLoginState(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->state, "st");
  EXPECT_EQ(back->nonce, "no");
  EXPECT_EQ(back->code_verifier, "ve");
  EXPECT_EQ(back->return_to, "/r");
  EXPECT_EQ(back->provider, "p");
  EXPECT_EQ(back->issued_at, 42);
  EXPECT_FALSE(DecodeLoginState(R"({"s":"st"})").has_value());
  EXPECT_FALSE(DecodeLoginState("garbage").has_value());
}

}  // namespace
}  // namespace coinpay
