// AuthType coinpay: a live session is let through with its identity; without one, browsers are
// sent to sign in and API-style requests get 401.
#include "core/session_authn.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace coinpay {
namespace {

using testing::TestSite;

class SessionAuthnTest : public ::testing::Test {
 protected:
  SessionAuthnTest() { t_.ServeDiscovery(); }
  std::string NewSession(const std::string& provider = "") {
    SessionRecord r = t_.NewRecord("");
    r.provider = provider;
    r.sub = "user-42";
    r.user = "user-42";
    r.claims = {{"email", "alice@example.com"}};
    r.claims_json = R"({"sub":"user-42","email":"alice@example.com"})";
    r.access_token = "AT-5";
    r.access_expires_at = t_.clock.NowSeconds() + 3600;
    auto id = t_.sessions->Create(r, t_.clock.NowSeconds());
    EXPECT_TRUE(id.ok());
    return "coinpay_session=" + (id.ok() ? *id : std::string());
  }
  RequestView Browser(std::string_view cookie = "") {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.path = "/app/page";
    req.query = "a=1";
    req.unparsed_uri = "/app/page?a=1";
    req.cookie = cookie;
    req.accept = "text/html,application/xhtml+xml,*/*;q=0.8";
    req.sec_fetch_mode = "navigate";
    return req;
  }
  Action Authn(const RequestView& req,
               LocationOptions::Unauthenticated u = LocationOptions::Unauthenticated::kAuto) {
    LocationOptions o;
    o.unauthenticated = u;
    Site site = t_.site();
    return AuthenticateSession(site, req, o);
  }
  TestSite t_;
};

TEST_F(SessionAuthnTest, ValidSessionIsAllowedWithItsClaims) {
  std::string cookie = NewSession();
  Action a = Authn(Browser(cookie));
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_EQ(a.identity.user, "user-42");
  ASSERT_EQ(a.identity.claims.size(), 1u);
  EXPECT_EQ(a.identity.claims[0].second, "alice@example.com");
  EXPECT_NE(a.identity.claims_json.find("alice@example.com"), std::string::npos);
  EXPECT_EQ(a.identity.access_token, "AT-5");
  EXPECT_TRUE(a.set_cookies.empty());
}

TEST_F(SessionAuthnTest, BrowserNavigationWithoutSessionIsSentToSignIn) {
  Action a = Authn(Browser());
  EXPECT_EQ(a.kind, Action::Kind::kRespond);
  EXPECT_EQ(a.status, 302);
  EXPECT_EQ(a.location.rfind(std::string(TestSite::kAuthorizeUrl) + "?", 0), 0u) << a.location;
  ASSERT_FALSE(a.set_cookies.empty());
  EXPECT_EQ(a.set_cookies.back().rfind("coinpay_login_", 0), 0u);
}

TEST_F(SessionAuthnTest, ApiStyleRequestsWithoutSessionGet401) {
  RequestView xhr = Browser();
  xhr.sec_fetch_mode = "";
  xhr.x_requested_with = "XMLHttpRequest";
  RequestView json = Browser();
  json.sec_fetch_mode = "";
  json.accept = "application/json";
  RequestView post = Browser();
  post.method = "POST";
  RequestView fetch = Browser();
  fetch.sec_fetch_mode = "cors";
  for (const RequestView& req : {xhr, json, post, fetch}) {
    Action a = Authn(req);
    EXPECT_EQ(a.kind, Action::Kind::kRespond);
    EXPECT_EQ(a.status, 401);
    EXPECT_TRUE(a.location.empty());
    bool challenge = false;
    for (const auto& [k, v] : a.headers) {
      challenge |= k == "WWW-Authenticate";
    }
    EXPECT_TRUE(challenge);
  }
  EXPECT_EQ(t_.http.CountFor(TestSite::kDiscoveryUrl), 0);
}

TEST_F(SessionAuthnTest, ExpiredSessionIsLikeNoSession) {
  std::string cookie = NewSession();
  t_.clock.Advance(t_.session_config.idle_timeout_seconds);
  EXPECT_EQ(Authn(Browser(cookie)).status, 302);
  RequestView api = Browser(cookie);
  api.accept = "application/json";
  api.sec_fetch_mode = "";
  EXPECT_EQ(Authn(api).status, 401);
}

TEST_F(SessionAuthnTest, SessionOfAnotherProviderDoesNotCount) {
  std::string cookie = NewSession("coinbase");
  Action a = Authn(Browser(cookie));
  EXPECT_NE(a.kind, Action::Kind::kAllow);
}

TEST_F(SessionAuthnTest, LocationChoiceOverridesTheGuess) {
  EXPECT_EQ(Authn(Browser(), LocationOptions::Unauthenticated::kDeny).status, 401);
  RequestView xhr = Browser();
  xhr.x_requested_with = "XMLHttpRequest";
  EXPECT_EQ(Authn(xhr, LocationOptions::Unauthenticated::kLogin).status, 302);
}

TEST_F(SessionAuthnTest, ReturnUrlIsTheRequestedPage) {
  Action a = Authn(Browser());
  ASSERT_EQ(a.status, 302);
  // The sealed login cookie carries the return URL; the redirect itself must not leak it.
  EXPECT_EQ(a.location.find("return_to"), std::string::npos);
}

TEST_F(SessionAuthnTest, StoreOutageIs503NotASignInLoop) {
  std::string cookie = NewSession();
  t_.store.set_unavailable(true);
  EXPECT_EQ(Authn(Browser(cookie)).status, 503);
}

TEST(IsBrowserNavigation, ClassifiesRequests) {
  RequestView r;
  r.method = "GET";
  EXPECT_TRUE(IsBrowserNavigation(r));
  r.accept = "*/*";
  EXPECT_TRUE(IsBrowserNavigation(r));
  r.accept = "application/json, text/html";
  EXPECT_TRUE(IsBrowserNavigation(r));
  r.accept = "application/json";
  EXPECT_FALSE(IsBrowserNavigation(r));
  r.accept = "";
  r.method = "HEAD";
  EXPECT_TRUE(IsBrowserNavigation(r));
  r.method = "DELETE";
  EXPECT_FALSE(IsBrowserNavigation(r));
  r.method = "GET";
  r.sec_fetch_mode = "Navigate";
  EXPECT_TRUE(IsBrowserNavigation(r));
  r.sec_fetch_mode = "no-cors";
  EXPECT_FALSE(IsBrowserNavigation(r));
}

}  // namespace
}  // namespace coinpay
