// Each counting point a user's action reaches: a sign-in and its failures, a logout, refreshes,
// bearer tokens, discovery and key fetches with their latency, circuit openings, store errors.
// Each test checks the counter it expects moved by exactly one and the others of its family not.
#include <gtest/gtest.h>

#include <map>

#include "core/bearer_authn.h"
#include "core/callback_flow.h"
#include "core/encoding.h"
#include "core/login_flow.h"
#include "core/logout_flow.h"
#include "core/metrics.h"
#include "core/session_refresh.h"
#include "core/token_cache.h"
#include "fakes.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::TestKey;
using testing::TestSite;

constexpr char kAudience[] = "https://api.example-business.com";

// Every counter of the provider's slot and the global slot, to compare before and after.
std::map<Metric, uint64_t> All(const TestSite& t) {
  std::map<Metric, uint64_t> out;
  for (size_t i = 0; i < kMetricCount; ++i) {
    out[static_cast<Metric>(i)] = t.Counted(static_cast<Metric>(i));
  }
  return out;
}

// What moved between two readings, and by how much.
std::map<Metric, uint64_t> Moved(const std::map<Metric, uint64_t>& before,
                                 const std::map<Metric, uint64_t>& after) {
  std::map<Metric, uint64_t> out;
  for (const auto& [m, v] : after) {
    if (v != before.at(m)) {
      out[m] = v - before.at(m);
    }
  }
  return out;
}

class MetricsFlowTest : public ::testing::Test {
 protected:
  MetricsFlowTest() {
    t_.ServeDiscovery();
    t_.ServeJwks(testing::MakeJwks({&key_}));
    bearer_.audiences = {kAudience};
    bearer_.realm = "api";
  }

  // Login; returns the login cookie and fills state_/nonce_.
  std::string StartLogin() {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.query = "return_to=%2Fapp";
    Site site = t_.site();
    Action a = HandleLoginRequest(site, req);
    EXPECT_EQ(a.status, 302);
    auto q = ParseQuery(a.location.substr(a.location.find('?') + 1)).value_or(Params{});
    for (auto& [k, v] : q) {
      if (k == "state") {
        state_ = v;
      } else if (k == "nonce") {
        nonce_ = v;
      }
    }
    const std::string& c = a.set_cookies.back();
    return c.substr(0, c.find(';'));
  }
  std::string IdToken() {
    int64_t now = t_.clock.NowSeconds();
    return key_.SignJwt(std::string(R"({"iss":")") + TestSite::kIssuer + R"(","aud":")" +
                        TestSite::kClientId + R"(","sub":"user-42","nonce":")" + nonce_ +
                        R"(","iat":)" + std::to_string(now) + R"(,"exp":)" +
                        std::to_string(now + 300) + "}");
  }
  void TokenEndpointReturns(const std::string& id_token) {
    t_.http.Respond(TestSite::kTokenUrl, 200,
                    R"({"access_token":"AT-1","token_type":"Bearer","expires_in":600,)"
                    R"("refresh_token":"RT-1","id_token":")" +
                        id_token + "\"}");
  }
  Action Callback(const std::string& query, const std::string& cookie) {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.query = query;
    req.cookie = cookie;
    Site site = t_.site();
    return HandleCallback(site, req);
  }
  Action Bearer(const std::string& authorization) {
    RequestView req;
    req.method = "GET";
    req.authorization = authorization;
    return AuthenticateBearer(*t_.provider, cache_, t_.clock, t_.log, req, bearer_);
  }
  std::string AccessToken() {
    int64_t now = t_.clock.NowSeconds();
    return key_.SignRaw(
        R"({"alg":")" + key_.alg() + R"(","kid":")" + key_.kid() + R"(","typ":"at+jwt"})",
        std::string(R"({"iss":")") + TestSite::kIssuer + R"(","aud":")" + kAudience +
            R"(","sub":"user-42","client_id":"c","iat":)" + std::to_string(now) + R"(,"exp":)" +
            std::to_string(now + 300) + "}");
  }
  Sessions::Loaded NewSession() {
    int64_t now = t_.clock.NowSeconds();
    SessionRecord r = t_.NewRecord("user-42");
    r.access_token = "AT-1";
    r.refresh_token = "RT-1";
    r.access_issued_at = now;
    r.access_expires_at = now + 600;
    auto id = t_.sessions->Create(r, now);
    EXPECT_TRUE(id.ok());
    session_id_ = id.ok() ? *id : "";
    auto loaded = t_.sessions->LoadById(id.ok() ? *id : "", now);
    EXPECT_TRUE(loaded.ok() && loaded->has_value());
    return **loaded;
  }

  TestSite t_;
  const TestKey& key_ = TestKey::Rsa("metrics-key");
  std::string state_, nonce_, session_id_;
  VerifiedTokenCache cache_{100};
  BearerConfig bearer_;
};

TEST_F(MetricsFlowTest, ACompletedSignInCountsStartedCompletedAndACreatedSession) {
  auto before = All(t_);
  std::string cookie = StartLogin();
  TokenEndpointReturns(IdToken());
  Action a = Callback("code=c&state=" + state_, cookie);
  ASSERT_EQ(a.status, 302) << a.body;
  auto moved = Moved(before, All(t_));
  // Discovery and keys are fetched on the way, once each.
  EXPECT_EQ(moved, (std::map<Metric, uint64_t>{{Metric::kSigninStarted, 1},
                                               {Metric::kSigninCompleted, 1},
                                               {Metric::kSessionCreated, 1},
                                               {Metric::kDiscoveryFetchOk, 1},
                                               {Metric::kJwksFetchOk, 1}}));
}

TEST_F(MetricsFlowTest, ACallbackWithoutItsLoginCookieIsAStateFailure) {
  StartLogin();
  auto before = All(t_);
  EXPECT_EQ(Callback("code=c&state=" + state_, "").status, 400);
  EXPECT_EQ(Moved(before, All(t_)), (std::map<Metric, uint64_t>{{Metric::kSigninFailedState, 1}}));
}

TEST_F(MetricsFlowTest, ATokenEndpointOutageIsATokenEndpointFailure) {
  std::string cookie = StartLogin();
  t_.http.Fail(TestSite::kTokenUrl);
  auto before = All(t_);
  EXPECT_EQ(Callback("code=c&state=" + state_, cookie).status, 502);
  EXPECT_EQ(Moved(before, All(t_)),
            (std::map<Metric, uint64_t>{{Metric::kSigninFailedTokenEndpoint, 1}}));
}

TEST_F(MetricsFlowTest, AnIdTokenThatFailsItsChecksIsAnIdTokenFailure) {
  std::string cookie = StartLogin();
  nonce_ = "another-nonce";
  TokenEndpointReturns(IdToken());
  auto before = All(t_);
  EXPECT_EQ(Callback("code=c&state=" + state_, cookie).status, 401);
  auto moved = Moved(before, All(t_));
  moved.erase(Metric::kJwksFetchOk);  // fetched on the way (the ID token is the first use)
  EXPECT_EQ(moved, (std::map<Metric, uint64_t>{{Metric::kSigninFailedIdToken, 1}}));
}

TEST_F(MetricsFlowTest, AStoreOutageAtTheCallbackCountsAStoreError) {
  std::string cookie = StartLogin();
  TokenEndpointReturns(IdToken());
  (void)t_.provider->KeysFor("");
  t_.store.set_unavailable(true);
  auto before = All(t_);
  EXPECT_EQ(Callback("code=c&state=" + state_, cookie).status, 503);
  EXPECT_EQ(Moved(before, All(t_)),
            (std::map<Metric, uint64_t>{{Metric::kSigninFailedSessionStore, 1},
                                        {Metric::kStoreError, 1}}));
}

TEST_F(MetricsFlowTest, LoggingOutCountsOneSessionEndedByLogout) {
  NewSession();
  auto before = All(t_);
  RequestView req;
  req.method = "GET";
  req.https = true;
  std::string cookie = "coinpay_session=" + session_id_;  // the view refers to it
  req.cookie = cookie;
  req.sec_fetch_site = "same-origin";
  Site site = t_.site();
  Action a = HandleLogout(site, req);
  ASSERT_EQ(a.status, 302) << a.body;
  auto moved = Moved(before, All(t_));
  moved.erase(Metric::kDiscoveryFetchOk);  // revocation looks up its endpoint
  EXPECT_EQ(moved, (std::map<Metric, uint64_t>{{Metric::kSessionEndedLogout, 1}}));
}

TEST_F(MetricsFlowTest, RefreshesCountOkAndFailed) {
  auto loaded = NewSession();
  t_.clock.Advance(590);
  t_.http.Respond(TestSite::kTokenUrl, 200,
                  R"({"access_token":"AT-2","token_type":"Bearer","expires_in":600})");
  (void)t_.provider->Metadata();
  (void)t_.provider->KeysFor("");
  auto before = All(t_);
  Site site = t_.site();
  ASSERT_TRUE(RefreshSession(site, loaded).ok());
  EXPECT_EQ(Moved(before, All(t_)), (std::map<Metric, uint64_t>{{Metric::kRefreshOk, 1}}));

  t_.clock.Advance(590);
  t_.http.Fail(TestSite::kTokenUrl);
  before = All(t_);
  ASSERT_FALSE(
      RefreshSession(site, t_.sessions->LoadById(loaded.id, t_.clock.NowSeconds()).value().value())
          .ok());
  EXPECT_EQ(Moved(before, All(t_)), (std::map<Metric, uint64_t>{{Metric::kRefreshFailed, 1}}));
}

TEST_F(MetricsFlowTest, BearerTokensCountAcceptedAndEachRefusal) {
  (void)t_.provider->KeysFor("");
  auto before = All(t_);
  EXPECT_EQ(Bearer("").status, 401);
  EXPECT_EQ(Bearer("Bearer a b").status, 400);
  EXPECT_EQ(Bearer("Bearer " + testing::TamperSignature(AccessToken())).status, 401);
  EXPECT_EQ(Bearer("Bearer " + AccessToken()).kind, Action::Kind::kAllow);
  EXPECT_EQ(Bearer("Bearer " + AccessToken()).kind, Action::Kind::kAllow);  // from the cache
  EXPECT_EQ(Moved(before, All(t_)),
            (std::map<Metric, uint64_t>{{Metric::kBearerRefusedMissing, 1},
                                        {Metric::kBearerRefusedMalformed, 1},
                                        {Metric::kBearerRefusedInvalid, 1},
                                        {Metric::kBearerAccepted, 2}}));
}

TEST_F(MetricsFlowTest, FailedFetchesAreCountedAndEveryProviderCallIsTimed) {
  TestSite t;
  // Each call to the provider takes one simulated second.
  t.http.Handle(TestSite::kDiscoveryUrl, [&](const HttpRequest&) {
    t.clock.Advance(1);
    return Result<HttpResponse>(Errc::kHttpFailure, "down");
  });
  EXPECT_FALSE(t.provider->Metadata().ok());
  EXPECT_EQ(t.Counted(Metric::kDiscoveryFetchFailed), 1u);
  t.ServeDiscovery();
  t.clock.Advance(10);  // past the pause before discovery is asked again
  t.http.Fail(TestSite::kJwksUrl);
  auto keys = t.provider->KeysFor("");
  EXPECT_FALSE(keys.ok());
  EXPECT_EQ(t.Counted(Metric::kJwksFetchFailed), 1u);
  SlotSnapshot s = t.metrics.metrics().Read(1);
  uint64_t calls = 0;
  for (uint64_t b : s.latency_buckets) {
    calls += b;
  }
  EXPECT_EQ(calls, 3u);                 // discovery failed, discovery, keys
  EXPECT_EQ(s.latency_buckets[7], 1u);  // the 1 s discovery call: le="1"
  EXPECT_EQ(s.latency_sum_nanos, 1'000'000'000u);
}

TEST_F(MetricsFlowTest, ABreakerOpeningIsCountedAndSharedAsOpenUntil) {
  int64_t now = t_.clock.NowSeconds();
  for (int i = 0; i < 5; ++i) {
    auto permit = t_.provider->breaker().Acquire();
    ASSERT_TRUE(permit.ok());
    permit->Failed("down");
  }
  SlotSnapshot s = t_.metrics.metrics().Read(1);
  EXPECT_EQ(s.counters[static_cast<size_t>(Metric::kCircuitOpened)], 1u);
  EXPECT_EQ(s.circuit_open_until, now + 30);
}

}  // namespace
}  // namespace coinpay
