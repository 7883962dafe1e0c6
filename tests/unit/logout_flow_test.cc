// Signing out: revoke the refresh token, destroy the session, clear the cookie, and send the
// browser only to a safe place.
#include "core/logout_flow.h"

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "fakes.h"

namespace coinpay {
namespace {

using testing::TestSite;

class LogoutFlowTest : public ::testing::Test {
 protected:
  LogoutFlowTest() {
    t_.ServeDiscovery();
    t_.http.Respond(TestSite::kRevokeUrl, 200, "");
    t_.session_config.post_logout_url = "/signed-out";
  }
  std::string NewSession(const std::string& refresh_token = "RT-77") {
    SessionRecord r = t_.NewRecord("");
    r.sub = "user-42";
    r.refresh_token = refresh_token;
    r.id_token = "id.token.x";
    auto id = t_.sessions->Create(r, t_.clock.NowSeconds());
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : std::string();
  }
  Action Logout(const std::string& query, const std::string& cookie) {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.query = query;
    req.cookie = cookie;
    Site site = t_.site();
    return HandleLogout(site, req);
  }
  bool ClearsSessionCookie(const Action& a) {
    for (const auto& c : a.set_cookies) {
      if (c.rfind("coinpay_session=;", 0) == 0 && c.find("Max-Age=0") != std::string::npos &&
          c.find("Expires=Thu, 01 Jan 1970") != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  TestSite t_;
};

TEST_F(LogoutFlowTest, RevokesRefreshTokenDestroysSessionAndClearsCookie) {
  std::string id = NewSession();
  Action a = Logout("return_to=%2Fbye", "coinpay_session=" + id);
  EXPECT_EQ(a.status, 302);
  EXPECT_EQ(a.location, "/bye");
  EXPECT_TRUE(ClearsSessionCookie(a));
  auto req = t_.http.LastFor(TestSite::kRevokeUrl);
  ASSERT_TRUE(req.has_value());
  Params form = ParseQuery(req->body).value_or(Params{});
  Params want = {{"token", "RT-77"}, {"token_type_hint", "refresh_token"}};
  EXPECT_EQ(form, want);
  auto loaded = t_.sessions->Load("coinpay_session=" + id, t_.clock.NowSeconds());
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(LogoutFlowTest, UnsafeReturnToGoesToConfiguredUrl) {
  std::string id = NewSession();
  for (const char* rt : {"%2F%2Fevil.com", "https%3A%2F%2Fevil.com", "%2F%5Cevil.com",
                         "javascript%3Aalert(1)", "%2F%09%2Fevil"}) {
    Action a = Logout(std::string("return_to=") + rt, "coinpay_session=" + id);
    EXPECT_EQ(a.status, 302);
    EXPECT_EQ(a.location, "/signed-out") << rt;
  }
}

TEST_F(LogoutFlowTest, WithoutReturnToGoesToConfiguredUrl) {
  EXPECT_EQ(Logout("", "").location, "/signed-out");
}

TEST_F(LogoutFlowTest, NoSessionStillClearsCookieWithoutCallingProvider) {
  Action a = Logout("", "coinpay_session=" + std::string(43, 'A'));
  EXPECT_EQ(a.status, 302);
  EXPECT_TRUE(ClearsSessionCookie(a));
  EXPECT_EQ(t_.http.CountFor(TestSite::kRevokeUrl), 0);
}

TEST_F(LogoutFlowTest, SessionWithoutRefreshTokenIsNotRevoked) {
  std::string id = NewSession("");
  Action a = Logout("", "coinpay_session=" + id);
  EXPECT_EQ(a.status, 302);
  EXPECT_EQ(t_.http.CountFor(TestSite::kRevokeUrl), 0);
}

TEST_F(LogoutFlowTest, ProviderOutageDoesNotKeepTheUserSignedIn) {
  std::string id = NewSession();
  t_.http.Fail(TestSite::kRevokeUrl);
  Action a = Logout("", "coinpay_session=" + id);
  EXPECT_EQ(a.status, 302);
  EXPECT_TRUE(ClearsSessionCookie(a));
  auto loaded = t_.sessions->Load("coinpay_session=" + id, t_.clock.NowSeconds());
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
  EXPECT_TRUE(t_.log.HasTag(142));
  EXPECT_FALSE(t_.log.AnyContains("RT-77"));
}

TEST_F(LogoutFlowTest, StoreOutageStillClearsCookie) {
  t_.store.set_unavailable(true);
  Action a = Logout("", "coinpay_session=" + std::string(43, 'A'));
  EXPECT_EQ(a.status, 302);
  EXPECT_TRUE(ClearsSessionCookie(a));
}

}  // namespace
}  // namespace coinpay
