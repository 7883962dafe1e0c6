// Opaque bearer tokens through AuthenticateBearer: each token costs the provider one
// introspection per lifetime of its answer (refusals included), concurrent requests for one
// token share one call, and calls about unknown tokens are budgeted (503 past the budget).
#include "core/opaque_bearer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fakes.h"

namespace coinpay {
namespace {

using testing::TestSite;

constexpr char kAudience[] = "https://api.example-business.com";
constexpr char kIntrospectUrl[] = "https://op.example/introspect";
constexpr char kInactive[] = R"({"active":false})";

std::string HeaderOf(const Action& a, const std::string& name) {
  for (const auto& [k, v] : a.headers) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

int CountTag(const testing::CollectingLogSink& log, int tag) {
  int n = 0;
  for (const auto& line : log.lines()) {
    n += std::get<1>(line) == tag ? 1 : 0;
  }
  return n;
}

class OpaqueIntrospectionTest : public ::testing::Test {
 protected:
  OpaqueIntrospectionTest() {
    std::string d = t_.DiscoveryJson();
    d.insert(d.size() - 1, std::string(R"(,"introspection_endpoint":")") + kIntrospectUrl + "\"");
    t_.http.Respond(TestSite::kDiscoveryUrl, 200, d);
    config_.audiences = {kAudience};
    config_.realm = "example-api";
  }

  std::string Active() {
    return std::string(R"({"active":true,"iss":")") + TestSite::kIssuer + R"(","aud":")" +
           kAudience + R"(","sub":"user-7","scope":"read:documents","exp":)" +
           std::to_string(t_.clock.NowSeconds() + 3600) + "}";
  }

  Action AuthnToken(const std::string& token) {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.path = "/api/documents";
    std::string authorization = "Bearer " + token;  // the view below must not outlive it
    req.authorization = authorization;
    return AuthenticateBearer(*t_.provider, cache_, t_.clock, t_.log, req, config_);
  }

  // Runs AuthnToken(token) on `n` threads at once; the introspection endpoint answers `answer`
  // only once the other n - 1 threads wait for it (or after a generous bound, so a failure to
  // merge shows as extra calls rather than as a hang).
  std::vector<Action> AllAtOnce(int n, const std::string& token, Result<HttpResponse> answer) {
    t_.http.Handle(kIntrospectUrl, [this, n, answer](const HttpRequest&) {
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (cache_.introspection().waiting() < static_cast<size_t>(n - 1) &&
             std::chrono::steady_clock::now() < give_up) {
        std::this_thread::yield();
      }
      return answer;
    });
    std::vector<Action> actions(static_cast<size_t>(n));
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([this, &actions, &token, i] { actions[i] = AuthnToken(token); });
    }
    for (auto& th : threads) {
      th.join();
    }
    return actions;
  }

  static void Expect503(const Action& a) {
    EXPECT_EQ(a.status, 503);
    EXPECT_EQ(HeaderOf(a, "WWW-Authenticate"), "Bearer realm=\"example-api\"");
    EXPECT_EQ(a.body, "{\"error\":\"temporarily_unavailable\"}\n");
  }

  TestSite t_;
  VerifiedTokenCache cache_{1000};
  BearerConfig config_;
  const std::string garbage_ = "garbage-0123456789abcdefABCDEF";
};

TEST_F(OpaqueIntrospectionTest, TheSameGarbageTokenFiftyTimesIsIntrospectedOnce) {
  t_.http.Respond(kIntrospectUrl, 200, kInactive);
  for (int i = 0; i < 50; ++i) {
    Action a = AuthnToken(garbage_);
    ASSERT_EQ(a.status, 401) << i;
    EXPECT_EQ(HeaderOf(a, "WWW-Authenticate"),
              "Bearer realm=\"example-api\", error=\"invalid_token\", "
              "error_description=\"The access token is not active\"");
  }
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 1);
  // The status page: one introspection, fifty refusals.
  EXPECT_EQ(t_.Counted(Metric::kIntrospectionInactive), 1u);
  EXPECT_EQ(t_.Counted(Metric::kBearerRefusedIntrospection), 50u);
  // Logged once, as not active (not as expired), and without the token.
  EXPECT_EQ(CountTag(t_.log, 167), 1);
  EXPECT_TRUE(t_.log.AnyContains("(not active)"));
  EXPECT_FALSE(t_.log.AnyContains("expired"));
  EXPECT_FALSE(t_.log.AnyContains(garbage_));
}

TEST_F(OpaqueIntrospectionTest, ARefusalIsRememberedForAMinuteOnly) {
  t_.http.Respond(kIntrospectUrl, 200, kInactive);
  EXPECT_EQ(AuthnToken(garbage_).status, 401);
  t_.clock.Advance(59);
  EXPECT_EQ(AuthnToken(garbage_).status, 401);
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 1);
  // Issued meanwhile (an opaque token that was not active yet): the minute is up, it is asked
  // about again.
  t_.clock.Advance(1);
  t_.http.Respond(kIntrospectUrl, 200, Active());
  EXPECT_EQ(AuthnToken(garbage_).kind, Action::Kind::kAllow);
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 2);
  EXPECT_EQ(t_.Counted(Metric::kIntrospectionActive), 1u);
  EXPECT_EQ(t_.Counted(Metric::kBearerAccepted), 1u);
}

TEST_F(OpaqueIntrospectionTest, AnswersAreKeptUnderAHashNotInTheJwtCache) {
  t_.http.Respond(kIntrospectUrl, 200, Active());
  ASSERT_EQ(AuthnToken("opaque-active-1").kind, Action::Kind::kAllow);
  t_.http.Respond(kIntrospectUrl, 200, kInactive);
  ASSERT_EQ(AuthnToken("opaque-inactive-1").status, 401);
  EXPECT_EQ(cache_.size(), 0u);  // the JWT cache keeps whole tokens; none of these is there
  EXPECT_EQ(cache_.introspection().size(), 2u);
  EXPECT_EQ(AuthnToken("opaque-active-1").kind, Action::Kind::kAllow);
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 2);
}

TEST_F(OpaqueIntrospectionTest, SixteenThreadsOnOneUnknownTokenMakeOneCallAndAllAreAnswered) {
  HttpResponse ok;
  ok.status = 200;
  ok.content_type = "application/json";
  ok.body = Active();
  std::vector<Action> actions = AllAtOnce(16, "opaque-shared-token", ok);
  for (const Action& a : actions) {
    ASSERT_EQ(a.kind, Action::Kind::kAllow);
    EXPECT_EQ(a.who().user, "user-7");
  }
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 1);
  EXPECT_EQ(cache_.introspection().waiting(), 0u);
}

TEST_F(OpaqueIntrospectionTest, SixteenThreadsShareOneFailureWhichIsNotRemembered) {
  std::vector<Action> actions =
      AllAtOnce(16, garbage_, Result<HttpResponse>(Errc::kHttpFailure, "connection refused"));
  for (const Action& a : actions) {
    Expect503(a);
  }
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 1);
  EXPECT_EQ(CountTag(t_.log, 166), 1);
  EXPECT_EQ(t_.Counted(Metric::kIntrospectionFailed), 1u);
  EXPECT_EQ(t_.Counted(Metric::kBearerRefusedUnavailable), 16u);
  // The provider is back: the next request asks again.
  t_.http.Respond(kIntrospectUrl, 200, kInactive);
  EXPECT_EQ(AuthnToken(garbage_).status, 401);
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 2);
}

TEST_F(OpaqueIntrospectionTest, UnknownTokensPastTheBudgetGet503AndTheFloodIsLoggedOnce) {
  t_.http.Respond(kIntrospectUrl, 200, kInactive);
  TokenBucket& budget = cache_.introspection().budget();
  const int burst = static_cast<int>(budget.burst());
  int next = 0;
  auto fresh_token = [&next] { return "unknown-token-" + std::to_string(next++); };
  for (int i = 0; i < burst; ++i) {
    ASSERT_EQ(AuthnToken(fresh_token()).status, 401) << i;
  }
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), burst);
  for (int i = 0; i < 20; ++i) {
    Expect503(AuthnToken(fresh_token()));
  }
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), burst);
  EXPECT_EQ(CountTag(t_.log, 260), 1);

  // Tokens already known are still answered from memory.
  EXPECT_EQ(AuthnToken("unknown-token-0").status, 401);

  // A second later the bucket has per_second more; the flood goes on, and is not logged again.
  t_.clock.Advance(1);
  for (int i = 0; i < budget.per_second(); ++i) {
    ASSERT_EQ(AuthnToken(fresh_token()).status, 401) << i;
  }
  Expect503(AuthnToken(fresh_token()));
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), burst + budget.per_second());
  EXPECT_EQ(CountTag(t_.log, 260), 1);

  // Once quiet long enough for the bucket to fill, a new flood is a new line.
  t_.clock.Advance(60);
  for (int i = 0; i < burst; ++i) {
    ASSERT_EQ(AuthnToken(fresh_token()).status, 401) << i;
  }
  Expect503(AuthnToken(fresh_token()));
  EXPECT_EQ(CountTag(t_.log, 260), 2);
  for (const auto& line : t_.log.lines()) {
    if (std::get<1>(line) == 260) {
      EXPECT_EQ(std::get<0>(line), LogLevel::kWarn);
    }
  }
}

TEST_F(OpaqueIntrospectionTest, WithoutAnIntrospectionEndpointTheRefusalIsRemembered) {
  t_.ServeDiscovery();  // no introspection_endpoint
  for (int i = 0; i < 5; ++i) {
    Action a = AuthnToken(garbage_);
    EXPECT_EQ(a.status, 401);
    EXPECT_NE(HeaderOf(a, "WWW-Authenticate").find("Only JWT access tokens are accepted here"),
              std::string::npos);
  }
  EXPECT_EQ(CountTag(t_.log, 165), 1);
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 0);
}

TEST_F(OpaqueIntrospectionTest, ATokenNotValidYetIsAskedAboutAgain) {
  int64_t now = t_.clock.NowSeconds();
  t_.http.Respond(kIntrospectUrl, 200,
                  std::string(R"({"active":true,"aud":")") + kAudience + R"(","sub":"x","nbf":)" +
                      std::to_string(now + 600) + R"(,"exp":)" + std::to_string(now + 3600) + "}");
  EXPECT_EQ(AuthnToken(garbage_).status, 401);
  EXPECT_EQ(AuthnToken(garbage_).status, 401);
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 2);
}

}  // namespace
}  // namespace coinpay
