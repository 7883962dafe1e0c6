// AuthType coinpay: a live session is let through with its identity; without one, browsers are
// sent to sign in and API-style requests get 401.
#include "core/session_authn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

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
  EXPECT_EQ(a.who().user, "user-42");
  ASSERT_EQ(a.who().claims.size(), 1u);
  EXPECT_EQ(a.who().claims[0].value, "alice@example.com");
  EXPECT_NE(a.who().claims_json.find("alice@example.com"), std::string::npos);
  EXPECT_TRUE(a.who().access_token.empty()) << "the token is passed only where asked for";
  EXPECT_TRUE(a.set_cookies.empty());
}

// A returning browser's requests share one identity made from the stored record (claim
// variable and header names included); every change to the record, and a logout, is seen by
// the next request.
TEST_F(SessionAuthnTest, RepeatedRequestsShareTheSessionsIdentityWithItsClaimNames) {
  std::string cookie = NewSession();
  Action first = Authn(Browser(cookie));
  Action second = Authn(Browser(cookie));
  ASSERT_EQ(first.kind, Action::Kind::kAllow);
  ASSERT_EQ(second.kind, Action::Kind::kAllow);
  EXPECT_EQ(first.shared_identity.get(), second.shared_identity.get());
  const Identity& id = second.who();
  ASSERT_EQ(id.claim_variables.size(), 1u);
  EXPECT_EQ(id.claim_variables[0], "COINPAY_CLAIM_email");
  ASSERT_EQ(id.claim_headers.size(), 1u);
  EXPECT_EQ(id.claim_headers[0], "Coinpay-Claim-email");
  EXPECT_TRUE(id.terminated);
  EXPECT_EQ(id.user.data()[id.user.size()], '\0');
}

TEST_F(SessionAuthnTest, AClaimsUpdateIsSeenByTheNextRequest) {
  std::string cookie = NewSession();
  Action before = Authn(Browser(cookie));
  ASSERT_EQ(before.kind, Action::Kind::kAllow);
  const std::string id = cookie.substr(cookie.find('=') + 1);
  auto updated = t_.sessions->Update(
      id,
      [](SessionRecord& r) {
        r.claims = {{"email", "bob@example.com"}};
      },
      t_.clock.NowSeconds());
  ASSERT_TRUE(updated.ok() && *updated);
  Action after = Authn(Browser(cookie));
  ASSERT_EQ(after.kind, Action::Kind::kAllow);
  EXPECT_NE(after.shared_identity.get(), before.shared_identity.get());
  ASSERT_EQ(after.who().claims.size(), 1u);
  EXPECT_EQ(after.who().claims[0].value, "bob@example.com");
  EXPECT_EQ(before.who().claims[0].value, "alice@example.com") << "a request's identity stays";
}

TEST_F(SessionAuthnTest, ALoggedOutSessionIsNotServedFromWhatTheProcessSaw) {
  std::string cookie = NewSession();
  ASSERT_EQ(Authn(Browser(cookie)).kind, Action::Kind::kAllow);
  ASSERT_TRUE(t_.sessions->Destroy(cookie.substr(cookie.find('=') + 1)).ok());
  EXPECT_EQ(Authn(Browser(cookie)).status, 302);
}

TEST_F(SessionAuthnTest, ATouchedSessionKeepsItsIdentityAndClaims) {
  std::string cookie = NewSession();
  ASSERT_EQ(Authn(Browser(cookie)).kind, Action::Kind::kAllow);
  t_.clock.Advance(120);  // the next request writes last_seen_at back: new bytes
  ASSERT_EQ(Authn(Browser(cookie)).kind, Action::Kind::kAllow);
  Action a = Authn(Browser(cookie));
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_EQ(a.who().user, "user-42");
  ASSERT_EQ(a.who().claims.size(), 1u);
  EXPECT_EQ(a.who().claims[0].value, "alice@example.com");
}

TEST_F(SessionAuthnTest, TwoSessionsNeverGetEachOthersIdentity) {
  std::string alice = NewSession();
  SessionRecord r = t_.NewRecord("");
  r.sub = "user-7";
  r.user = "user-7";
  r.claims = {{"email", "bob@example.com"}};
  auto bob_id = t_.sessions->Create(r, t_.clock.NowSeconds());
  ASSERT_TRUE(bob_id.ok());
  std::string bob = "coinpay_session=" + *bob_id;
  for (int i = 0; i < 3; ++i) {
    Action a = Authn(Browser(alice));
    Action b = Authn(Browser(bob));
    ASSERT_EQ(a.kind, Action::Kind::kAllow);
    ASSERT_EQ(b.kind, Action::Kind::kAllow);
    EXPECT_EQ(a.who().user, "user-42");
    EXPECT_EQ(b.who().user, "user-7");
    EXPECT_EQ(a.who().claims[0].value, "alice@example.com");
    EXPECT_EQ(b.who().claims[0].value, "bob@example.com");
  }
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

// --- Refresh only where a live access token is needed; the provider's circuit breaker ------

std::string TokenJson(const std::string& access, const std::string& refresh) {
  return R"({"access_token":")" + access + R"(","token_type":"Bearer","expires_in":600,)" +
         R"("refresh_token":")" + refresh + "\"}";
}

std::string HeaderOf(const Action& a, std::string_view name) {
  for (const auto& [k, v] : a.headers) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

class SessionRefreshAuthnTest : public SessionAuthnTest {
 protected:
  // A session whose access token (600 s) has expired 100 s ago; idle and age limits are far.
  std::string ExpiredTokenSession(const std::string& sub = "user-42") {
    SessionRecord r = t_.NewRecord(sub);
    r.access_token = "AT-old-" + sub;
    r.refresh_token = "RT-" + sub;
    r.access_issued_at = t_.clock.NowSeconds() - 700;
    r.access_expires_at = t_.clock.NowSeconds() - 100;
    auto id = t_.sessions->Create(r, t_.clock.NowSeconds());
    EXPECT_TRUE(id.ok());
    return "coinpay_session=" + (id.ok() ? *id : std::string());
  }
  static LocationOptions StaticPage() { return LocationOptions{}; }
  static LocationOptions PassesToken() {
    LocationOptions o;
    o.pass_access_token = true;
    return o;
  }
  Action At(const std::string& cookie, const LocationOptions& options) {
    Site site = t_.site();
    return AuthenticateSession(site, Browser(cookie), options);
  }
  int TokenCalls() const { return t_.http.CountFor(TestSite::kTokenUrl); }
  // The provider's token endpoint fails five times: the breaker opens.
  void OpenTheBreaker() {
    t_.http.Fail(TestSite::kTokenUrl, "timeout after 10000 ms");
    for (int i = 0; i < 5; ++i) {
      Action a = At(ExpiredTokenSession("u" + std::to_string(i)), PassesToken());
      ASSERT_EQ(a.status, 502) << "failure " << i << " before the breaker opened";
    }
    ASSERT_EQ(TokenCalls(), 5);
    ASSERT_EQ(t_.provider->breaker().state(), CircuitBreaker::State::kOpen);
  }
};

TEST_F(SessionRefreshAuthnTest, StaticPageWithExpiredTokenIsAllowedWithoutAskingTheProvider) {
  std::string cookie = ExpiredTokenSession();
  t_.http.Fail(TestSite::kDiscoveryUrl);
  t_.http.Fail(TestSite::kTokenUrl);
  Action a = At(cookie, StaticPage());
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_EQ(a.who().user, "user-42");
  EXPECT_TRUE(a.who().access_token.empty()) << "an expired token passed on as if valid";
  EXPECT_EQ(a.who().access_token_expires_at, 0);
  EXPECT_TRUE(t_.http.requests().empty());
}

TEST_F(SessionRefreshAuthnTest, StaticPageStaysOpenUntilTheSessionsOwnLimits) {
  std::string cookie = ExpiredTokenSession();
  t_.http.Fail(TestSite::kTokenUrl);
  for (int i = 0; i < 5; ++i) {
    t_.clock.Advance(600);  // used every 10 minutes: never idle
    EXPECT_EQ(At(cookie, StaticPage()).kind, Action::Kind::kAllow) << i;
  }
  t_.clock.Advance(t_.session_config.idle_timeout_seconds);
  EXPECT_NE(At(cookie, StaticPage()).kind, Action::Kind::kAllow);
  EXPECT_EQ(TokenCalls(), 0);
}

TEST_F(SessionRefreshAuthnTest, TokenPassingLocationRefreshesAndPassesTheNewToken) {
  std::string cookie = ExpiredTokenSession();
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-new", "RT-new"));
  Action a = At(cookie, PassesToken());
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_EQ(a.who().access_token, "AT-new");
  EXPECT_EQ(a.who().access_token_expires_at, t_.clock.NowSeconds() + 600);
  EXPECT_EQ(TokenCalls(), 1);
}

TEST_F(SessionRefreshAuthnTest, RefreshAlwaysRefreshesWithoutPassingTheToken) {
  std::string cookie = ExpiredTokenSession();
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-new", "RT-new"));
  LocationOptions always;
  always.refresh = LocationOptions::Refresh::kAlways;
  Action a = At(cookie, always);
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_TRUE(a.who().access_token.empty());
  EXPECT_EQ(TokenCalls(), 1);
  // Stored: the token-passing location now finds it fresh.
  EXPECT_EQ(At(cookie, PassesToken()).who().access_token, "AT-new");
  EXPECT_EQ(TokenCalls(), 1);
}

TEST_F(SessionRefreshAuthnTest, ExpiredTokenThatCannotBeRefreshedIsNotPassedOn) {
  SessionRecord r = t_.NewRecord("no-rt");
  r.access_token = "AT-dead";
  r.access_expires_at = t_.clock.NowSeconds() - 1;  // and no refresh token
  auto id = t_.sessions->Create(r, t_.clock.NowSeconds());
  ASSERT_TRUE(id.ok());
  Action a = At("coinpay_session=" + *id, PassesToken());
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_TRUE(a.who().access_token.empty());
}

TEST_F(SessionRefreshAuthnTest, AfterFiveFailuresTheNextRequestGets503WithoutAnHttpCall) {
  OpenTheBreaker();
  EXPECT_TRUE(t_.log.HasTag(190));
  size_t calls_before = t_.http.requests().size();
  Action a = At(ExpiredTokenSession("sixth"), PassesToken());
  EXPECT_EQ(a.kind, Action::Kind::kRespond);
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(HeaderOf(a, "Retry-After"), "30");
  EXPECT_EQ(HeaderOf(a, "Cache-Control"), "no-store");
  EXPECT_EQ(a.body.find("sixth"), std::string::npos);
  EXPECT_EQ(t_.http.requests().size(), calls_before) << "the open breaker still called out";
  t_.clock.Advance(20);
  EXPECT_EQ(HeaderOf(At(ExpiredTokenSession("later"), PassesToken()), "Retry-After"), "10");
  // Pages that do not need the token are untouched by the outage.
  EXPECT_EQ(At(ExpiredTokenSession("static"), StaticPage()).kind, Action::Kind::kAllow);
  EXPECT_EQ(TokenCalls(), 5);
}

TEST_F(SessionRefreshAuthnTest, WhileOpenAStillValidTokenGoesOnWhenConfigured) {
  OpenTheBreaker();
  t_.session_config.continue_on_refresh_failure = true;
  SessionRecord r = t_.NewRecord("due");
  r.access_token = "AT-still-valid";
  r.refresh_token = "RT-due";
  r.access_issued_at = t_.clock.NowSeconds() - 590;
  r.access_expires_at = t_.clock.NowSeconds() + 10;  // due for refresh, not yet expired
  auto id = t_.sessions->Create(r, t_.clock.NowSeconds());
  ASSERT_TRUE(id.ok());
  Action a = At("coinpay_session=" + *id, PassesToken());
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_EQ(a.who().access_token, "AT-still-valid");
  // An expired one does not.
  EXPECT_EQ(At(ExpiredTokenSession("expired"), PassesToken()).status, 503);
  EXPECT_EQ(TokenCalls(), 5);
}

TEST_F(SessionRefreshAuthnTest, AfterTheCoolDownOneProbeGoesAndItsSuccessCloses) {
  OpenTheBreaker();
  t_.clock.Advance(30);
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-new", "RT-new"));
  Action probe = At(ExpiredTokenSession("probe"), PassesToken());
  ASSERT_EQ(probe.kind, Action::Kind::kAllow);
  EXPECT_EQ(probe.who().access_token, "AT-new");
  EXPECT_EQ(TokenCalls(), 6);
  EXPECT_TRUE(t_.log.HasTag(191));
  EXPECT_EQ(At(ExpiredTokenSession("after"), PassesToken()).kind, Action::Kind::kAllow);
  EXPECT_EQ(TokenCalls(), 7);
}

TEST_F(SessionRefreshAuthnTest, AFailedProbeShutsTheDoorForAnotherCoolDown) {
  OpenTheBreaker();
  t_.clock.Advance(30);
  EXPECT_EQ(At(ExpiredTokenSession("probe"), PassesToken()).status, 502);  // it did wait
  EXPECT_EQ(TokenCalls(), 6);
  Action next = At(ExpiredTokenSession("next"), PassesToken());
  EXPECT_EQ(next.status, 503);
  EXPECT_EQ(HeaderOf(next, "Retry-After"), "30");
  EXPECT_EQ(TokenCalls(), 6);
}

TEST_F(SessionRefreshAuthnTest, AnOAuthErrorIsAnAnswerNotAnOutage) {
  t_.http.Respond(TestSite::kTokenUrl, 400, R"({"error":"invalid_grant"})");
  for (int i = 0; i < 7; ++i) {
    Action a = At(ExpiredTokenSession("revoked" + std::to_string(i)), PassesToken());
    EXPECT_NE(a.kind, Action::Kind::kAllow);
    EXPECT_NE(a.status, 503);
  }
  EXPECT_EQ(t_.provider->breaker().state(), CircuitBreaker::State::kClosed);
  EXPECT_EQ(TokenCalls(), 7);
}

TEST_F(SessionRefreshAuthnTest, ConcurrentRequestsInHalfOpenSendOneProbe) {
  OpenTheBreaker();
  t_.clock.Advance(30);
  constexpr int kRequests = 8;
  std::vector<std::string> cookies;
  for (int i = 0; i < kRequests; ++i) {
    cookies.push_back(ExpiredTokenSession("c" + std::to_string(i)));
  }
  // The probe is held at the provider until every other request has had its answer.
  testing::Latch release;
  t_.http.Handle(TestSite::kTokenUrl, [&](const HttpRequest&) {
    release.Wait();
    HttpResponse r;
    r.status = 200;
    r.body = TokenJson("AT-probe", "RT-probe");
    return Result<HttpResponse>(r);
  });
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  std::vector<int> statuses(kRequests, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      Action a = At(cookies[i], PassesToken());
      std::lock_guard<std::mutex> lock(mu);
      statuses[i] = a.kind == Action::Kind::kAllow ? 200 : a.status;
      ++answered;
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    // A generous bound so that a broken breaker fails the test instead of hanging it.
    EXPECT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(30), [&] { return answered == kRequests - 1; }));
  }
  release.Open();
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 503), kRequests - 1);
  EXPECT_EQ(TokenCalls(), 6) << "more than one probe reached the provider";
  EXPECT_EQ(t_.provider->breaker().state(), CircuitBreaker::State::kClosed);
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
