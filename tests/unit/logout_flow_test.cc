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
  Action Logout(const std::string& query, const std::string& cookie,
                std::string_view sec_fetch_site = "") {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.query = query;
    req.cookie = cookie;
    req.sec_fetch_site = sec_fetch_site;
    Site site = t_.site();
    return HandleLogout(site, req);
  }
  Action Post(const std::string& query, const std::string& cookie, const std::string& form) {
    RequestView req;
    req.method = "POST";
    req.https = true;
    req.query = query;
    req.cookie = cookie;
    req.sec_fetch_site = "same-origin";
    req.form_body = form;
    Site site = t_.site();
    return HandleLogout(site, req);
  }
  bool SessionLives(const std::string& id) {
    auto loaded = t_.sessions->Load("coinpay_session=" + id, t_.clock.NowSeconds());
    return loaded.ok() && loaded->has_value();
  }
  std::string TokenFor(const std::string& id) {
    return LogoutConfirmationToken(t_.session_config, id);
  }
  static std::string HeaderOf(const Action& a, const std::string& name) {
    for (const auto& [n, v] : a.headers) {
      if (n == name) {
        return v;
      }
    }
    return "";
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

TEST_F(LogoutFlowTest, LinkFollowedFromAnotherSiteAsksFirstAndKeepsTheSession) {
  std::string id = NewSession();
  Action a = Logout("return_to=%2F%3Cscript%3Ebye", "coinpay_session=" + id, "cross-site");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.set_cookies.empty());
  EXPECT_EQ(HeaderOf(a, "Cache-Control"), "no-store");
  EXPECT_EQ(HeaderOf(a, "Content-Security-Policy"), "frame-ancestors 'none'");
  EXPECT_NE(a.body.find("<form method=\"post\">"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("name=\"csrf\" value=\"" + TokenFor(id) + "\""), std::string::npos);
  EXPECT_EQ(a.body.find("script"), std::string::npos);  // nothing of the request echoed
  EXPECT_EQ(a.body.find("bye"), std::string::npos);
  EXPECT_TRUE(SessionLives(id));
  EXPECT_EQ(t_.http.CountFor(TestSite::kRevokeUrl), 0);
  EXPECT_TRUE(t_.log.HasTag(144));
}

TEST_F(LogoutFlowTest, UnknownSecFetchSiteValuesAskFirstToo) {
  std::string id = NewSession();
  EXPECT_EQ(Logout("", "coinpay_session=" + id, "something-new").status, 200);
  EXPECT_TRUE(SessionLives(id));
}

TEST_F(LogoutFlowTest, LinksFromThisSiteOrOldBrowsersSignOutAtOnce) {
  for (const char* site : {"same-origin", "same-site", "none", ""}) {
    std::string id = NewSession();
    Action a = Logout("return_to=%2Fbye", "coinpay_session=" + id, site);
    EXPECT_EQ(a.status, 302) << site;
    EXPECT_EQ(a.location, "/bye") << site;
    EXPECT_TRUE(ClearsSessionCookie(a)) << site;
    EXPECT_FALSE(SessionLives(id)) << site;
  }
}

TEST_F(LogoutFlowTest, ConfirmedPostSignsOut) {
  std::string id = NewSession();
  Action a = Post("return_to=%2Fbye", "coinpay_session=" + id, "csrf=" + TokenFor(id));
  EXPECT_EQ(a.status, 302);
  EXPECT_EQ(a.location, "/bye");
  EXPECT_TRUE(ClearsSessionCookie(a));
  EXPECT_FALSE(SessionLives(id));
  EXPECT_EQ(t_.http.CountFor(TestSite::kRevokeUrl), 1);
}

TEST_F(LogoutFlowTest, PostWithoutTheSessionsTokenIsRefused) {
  std::string id = NewSession();
  std::string other = NewSession();
  std::string token = TokenFor(id);
  for (const std::string& form :
       {std::string(), std::string("csrf="), "csrf=" + token.substr(1), "csrf=" + TokenFor(other),
        "csrf=" + TokenFor(""), "csrf=" + token + "&csrf=" + token, std::string("csrf=%zz"),
        "other=" + token}) {
    Action a = Post("", "coinpay_session=" + id, form);
    EXPECT_EQ(a.status, 403) << form;
    EXPECT_TRUE(a.set_cookies.empty()) << form;
    EXPECT_EQ(HeaderOf(a, "Cache-Control"), "no-store");
  }
  EXPECT_TRUE(SessionLives(id));
  EXPECT_EQ(t_.http.CountFor(TestSite::kRevokeUrl), 0);
  EXPECT_TRUE(t_.log.HasTag(145));
  EXPECT_FALSE(t_.log.AnyContains(token));
}

TEST_F(LogoutFlowTest, TokensAreBoundToTheSessionAndThePassphrase) {
  EXPECT_NE(TokenFor("a"), TokenFor("b"));
  EXPECT_EQ(TokenFor("a"), TokenFor("a"));
  EXPECT_EQ(TokenFor("a").size(), 43u);  // 256 bits, base64url
  SessionConfig other = t_.session_config;
  other.sealer = std::make_shared<const CookieSealer>(std::vector<std::string>{"another secret"});
  EXPECT_NE(LogoutConfirmationToken(other, "a"), TokenFor("a"));
  other.sealer = nullptr;
  EXPECT_EQ(LogoutConfirmationToken(other, "a"), "");
}

TEST_F(LogoutFlowTest, WithoutAPassphraseNoPostIsAccepted) {
  std::string id = NewSession();
  std::string token = TokenFor(id);
  t_.session_config.sealer = nullptr;
  EXPECT_EQ(Post("", "coinpay_session=" + id, "csrf=" + token).status, 403);
  EXPECT_EQ(Post("", "coinpay_session=" + id, "csrf=").status, 403);
  EXPECT_TRUE(SessionLives(id));
}

}  // namespace
}  // namespace coinpay
