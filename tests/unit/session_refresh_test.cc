// Refreshing a session's access token: when it is due, what a refresh stores, when it ends the
// session, and the single flight (one request to the provider however many threads and
// processes ask at once; a lock that is always released and that a dead owner cannot keep).
#include "core/session_refresh.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"
#include "fakes.h"
#include "platform/shm_store.h"
#include "shm_mapping.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::FakeHttpClient;
using testing::FakeRandom;
using testing::InMemoryStore;
using testing::Latch;
using testing::TestKey;
using testing::TestSite;

// The lock key as session_refresh.cc derives it (tests also check that no unknown key is left).
std::string LockKeyOf(std::string_view session_id) {
  return Sha256(std::string("refresh-lock/").append(session_id));
}

std::string TokenJson(const std::string& access, const std::string& refresh = "",
                      const std::string& id_token = "", int64_t expires_in = 600) {
  std::string body = R"({"access_token":")" + access + R"(","token_type":"Bearer")";
  if (expires_in > 0) {
    body += ",\"expires_in\":" + std::to_string(expires_in);
  }
  if (!refresh.empty()) {
    body += R"(,"refresh_token":")" + refresh + "\"";
  }
  if (!id_token.empty()) {
    body += R"(,"id_token":")" + id_token + "\"";
  }
  return body + "}";
}

// Forwards to another store and counts Add calls, so a test can wait until requests have been
// refused the lock (rather than sleeping and hoping). `refused_callers` counts the distinct
// threads refused at least once; after fork() each process has its own copy of the set, so with
// counters in shared memory it counts processes (or threads of processes) across the fork.
class CountingStore : public SharedStore {
 public:
  CountingStore(SharedStore& inner, std::atomic<int>* adds, std::atomic<int>* refused_callers)
      : inner_(inner), adds_(adds), refused_callers_(refused_callers) {}
  Status Put(std::string_view key, std::string_view value, int64_t expires_at) override {
    return inner_.Put(key, value, expires_at);
  }
  Result<std::optional<Entry>> Get(std::string_view key, int64_t now) override {
    return inner_.Get(key, now);
  }
  Result<bool> PutIfVersion(std::string_view key, std::string_view value, int64_t expires_at,
                            uint64_t version, int64_t now) override {
    return inner_.PutIfVersion(key, value, expires_at, version, now);
  }
  Status SetAdd(std::string_view key, std::string_view member, int64_t expires_at) override {
    return inner_.SetAdd(key, member, expires_at);
  }
  Result<bool> Exists(std::string_view key, int64_t now) override {
    return inner_.Exists(key, now);
  }
  Result<std::vector<std::string>> SetMembers(std::string_view key, int64_t now) override {
    return inner_.SetMembers(key, now);
  }
  Status SetRemove(std::string_view key, const std::vector<std::string>& members) override {
    return inner_.SetRemove(key, members);
  }
  Status Erase(std::string_view key) override { return inner_.Erase(key); }
  Result<bool> Add(std::string_view key, std::string_view value, int64_t expires_at,
                   int64_t now) override {
    auto r = inner_.Add(key, value, expires_at, now);
    {
      std::lock_guard<std::mutex> lock(mu_);
      adds_->fetch_add(1);
      if (r.ok() && !*r && refused_.insert(std::this_thread::get_id()).second) {
        refused_callers_->fetch_add(1);
      }
    }
    cv_.notify_all();
    return r;
  }
  Status EraseIfEquals(std::string_view key, std::string_view expected) override {
    return inner_.EraseIfEquals(key, expected);
  }
  // True when at least `n` Add calls happened within `timeout`.
  bool WaitForAdds(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return adds_->load() >= n; });
  }
  // True when at least `n` distinct threads were refused the lock within `timeout`.
  bool WaitForRefusedCallers(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return refused_callers_->load() >= n; });
  }

 private:
  SharedStore& inner_;
  std::atomic<int>* adds_;
  std::atomic<int>* refused_callers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::thread::id> refused_;
};

class SessionRefreshTest : public ::testing::Test {
 protected:
  SessionRefreshTest() {
    t_.ServeDiscovery();
    t_.ServeJwks(testing::MakeJwks({&key_}));
  }

  // A session whose access token (issued now, 600 s) is due for refresh after 570 s.
  Sessions::Loaded NewSession(Sessions& sessions) {
    int64_t now = t_.clock.NowSeconds();
    SessionRecord r = t_.NewRecord("");
    r.sub = "user-42";
    r.user = "user-42";
    r.id_token = "ID-1";
    r.access_token = "AT-1";
    r.refresh_token = "RT-1";
    r.access_issued_at = now;
    r.access_expires_at = now + 600;
    auto id = sessions.Create(r, now);
    EXPECT_TRUE(id.ok());
    auto loaded = sessions.LoadById(id.ok() ? *id : "", now);
    EXPECT_TRUE(loaded.ok() && loaded->has_value());
    return loaded.ok() && loaded->has_value() ? **loaded : Sessions::Loaded{};
  }
  Sessions::Loaded NewSession() { return NewSession(*t_.sessions); }

  std::optional<SessionRecord> Stored(std::string_view id) {
    auto got = t_.sessions->LoadById(id, t_.clock.NowSeconds());
    EXPECT_TRUE(got.ok());
    if (!got.ok() || !got->has_value()) {
      return std::nullopt;
    }
    return (*got)->record;
  }
  // The session as a request would see it now (record and version).
  Sessions::Loaded Current(std::string_view id) {
    auto got = t_.sessions->LoadById(id, t_.clock.NowSeconds());
    EXPECT_TRUE(got.ok() && got->has_value());
    return got.ok() && got->has_value() ? **got : Sessions::Loaded{};
  }

  Result<SessionRecord> Refresh(const Sessions::Loaded& loaded) {
    Site site = t_.site();
    return RefreshSession(site, loaded);
  }

  std::string IdToken(const std::string& sub) {
    int64_t now = t_.clock.NowSeconds();
    return key_.SignJwt(std::string(R"({"iss":")") + TestSite::kIssuer + R"(","aud":")" +
                        TestSite::kClientId + R"(","sub":")" + sub + R"(","iat":)" +
                        std::to_string(now) + R"(,"exp":)" + std::to_string(now + 300) + "}");
  }

  void ExpectNoLockLeft(std::string_view id, const std::set<std::string>& allowed) {
    auto keys = t_.store.Keys();
    EXPECT_EQ(std::count(keys.begin(), keys.end(), LockKeyOf(id)), 0);
    for (const auto& k : keys) {
      EXPECT_TRUE(allowed.count(k) == 1) << "unexpected store key " << Base64UrlEncode(k);
    }
  }
  std::set<std::string> KeysNow() {
    auto keys = t_.store.Keys();
    return std::set<std::string>(keys.begin(), keys.end());
  }

  TestSite t_;
  const TestKey& key_ = TestKey::Rsa("rsa-refresh-1");
};

// --- NeedsRefresh -----------------------------------------------------------------------------

TEST(NeedsRefresh, DueWithinTheMarginBeforeExpiry) {
  SessionRecord s;
  s.refresh_token = "RT";
  s.access_issued_at = 1000;
  s.access_expires_at = 1600;
  EXPECT_FALSE(NeedsRefresh(s, 1000, 30));
  EXPECT_FALSE(NeedsRefresh(s, 1569, 30));
  EXPECT_TRUE(NeedsRefresh(s, 1570, 30));
  EXPECT_TRUE(NeedsRefresh(s, 1600, 30));
  EXPECT_TRUE(NeedsRefresh(s, 99999, 30));
  EXPECT_FALSE(NeedsRefresh(s, 1599, 0));
  EXPECT_TRUE(NeedsRefresh(s, 1600, 0));
}

TEST(NeedsRefresh, MarginIsCappedAtHalfTheTokensLife) {
  SessionRecord s;
  s.refresh_token = "RT";
  s.access_issued_at = 1000;
  s.access_expires_at = 1040;  // a 40 s token with a 30 s margin: refresh after 20 s, not 10 s
  EXPECT_FALSE(NeedsRefresh(s, 1010, 30));
  EXPECT_FALSE(NeedsRefresh(s, 1019, 30));
  EXPECT_TRUE(NeedsRefresh(s, 1020, 30));
  // A margin longer than the whole life would otherwise refresh on every request.
  EXPECT_FALSE(NeedsRefresh(s, 1000, 3600));
  EXPECT_TRUE(NeedsRefresh(s, 1020, 3600));
}

TEST(NeedsRefresh, WithoutIssueTimeTheMarginIsNotCapped) {
  SessionRecord s;
  s.refresh_token = "RT";
  s.access_issued_at = 0;
  s.access_expires_at = 1040;
  EXPECT_FALSE(NeedsRefresh(s, 1009, 30));
  EXPECT_TRUE(NeedsRefresh(s, 1010, 30));
}

TEST(NeedsRefresh, NeverWithoutARefreshTokenOrAKnownExpiry) {
  SessionRecord s;
  s.access_issued_at = 1000;
  s.access_expires_at = 1600;
  EXPECT_FALSE(NeedsRefresh(s, 5000, 30));  // expired, but nothing to refresh with
  s.refresh_token = "RT";
  s.access_expires_at = 0;
  EXPECT_FALSE(NeedsRefresh(s, 5000, 30));
}

// --- RefreshSession: one request ---------------------------------------------------------------

TEST_F(SessionRefreshTest, RotationStoresTheNewTokensAndExpiry) {
  auto loaded = NewSession();
  std::set<std::string> keys_before = KeysNow();
  t_.clock.Advance(580);
  const int64_t now = t_.clock.NowSeconds();
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2", "", 900));

  auto r = Refresh(loaded);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->access_token, "AT-2");
  EXPECT_EQ(r->refresh_token, "RT-2");
  EXPECT_EQ(r->access_expires_at, now + 900);
  EXPECT_EQ(r->access_issued_at, now);
  EXPECT_EQ(r->id_token, "ID-1");
  EXPECT_EQ(r->sub, "user-42");

  auto stored = Stored(loaded.id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->access_token, "AT-2");
  EXPECT_EQ(stored->refresh_token, "RT-2");
  EXPECT_EQ(stored->access_expires_at, now + 900);
  EXPECT_EQ(stored->access_issued_at, now);

  auto req = t_.http.LastFor(TestSite::kTokenUrl);
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->method, "POST");
  auto form = ParseQuery(req->body);
  ASSERT_TRUE(form.has_value());
  std::map<std::string, std::string> params(form->begin(), form->end());
  EXPECT_EQ(params["grant_type"], "refresh_token");
  EXPECT_EQ(params["refresh_token"], "RT-1");
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 1);
  ExpectNoLockLeft(loaded.id, keys_before);
}

TEST_F(SessionRefreshTest, NextRefreshSendsTheRotatedToken) {
  auto loaded = NewSession();
  t_.clock.Advance(580);
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2"));
  auto first = Refresh(loaded);
  ASSERT_TRUE(first.ok());

  t_.clock.Advance(580);
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-3", "RT-3"));
  auto second = Refresh(Current(loaded.id));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->access_token, "AT-3");
  auto form = ParseQuery(t_.http.LastFor(TestSite::kTokenUrl)->body);
  std::map<std::string, std::string> params(form->begin(), form->end());
  EXPECT_EQ(params["refresh_token"], "RT-2");
}

TEST_F(SessionRefreshTest, WithoutRotationTheRefreshTokenIsKept) {
  auto loaded = NewSession();
  t_.clock.Advance(580);
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2"));
  auto r = Refresh(loaded);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->access_token, "AT-2");
  EXPECT_EQ(r->refresh_token, "RT-1");
  EXPECT_EQ(Stored(loaded.id)->refresh_token, "RT-1");
}

TEST_F(SessionRefreshTest, RefreshedIdTokenForTheSameUserIsKept) {
  auto loaded = NewSession();
  t_.clock.Advance(580);
  std::string id_token = IdToken("user-42");
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2", id_token));
  auto r = Refresh(loaded);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->id_token, id_token);
  EXPECT_EQ(Stored(loaded.id)->id_token, id_token);
}

TEST_F(SessionRefreshTest, RefreshedIdTokenForAnotherSubEndsTheSession) {
  auto loaded = NewSession();
  std::set<std::string> keys_before = KeysNow();
  t_.clock.Advance(580);
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2", IdToken("mallory")));
  auto r = Refresh(loaded);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kInvalidGrant);
  EXPECT_FALSE(Stored(loaded.id).has_value());
  ExpectNoLockLeft(loaded.id, keys_before);
}

TEST_F(SessionRefreshTest, RefreshedIdTokenThatFailsVerificationEndsTheSession) {
  auto claims = [this](const std::string& aud, int64_t exp_in) {
    return std::string(R"({"iss":"https://op.example","aud":")") + aud +
           R"(","sub":"user-42","exp":)" + std::to_string(t_.clock.NowSeconds() + exp_in) + "}";
  };
  const std::map<std::string, std::function<std::string()>> bad = {
      {"bad signature", [&] { return testing::TamperSignature(IdToken("user-42")); }},
      {"unknown key",
       [&] {
         auto k = TestKey::Generate(TestKey::Kind::kEcP256, "stranger");
         return k->SignJwt(claims(TestSite::kClientId, 300));
       }},
      {"wrong audience", [&] { return key_.SignJwt(claims("someone-else", 300)); }},
      {"expired", [&] { return key_.SignJwt(claims(TestSite::kClientId, -3600)); }},
      {"alg none", [&] { return testing::ForgeAlgNone(claims(TestSite::kClientId, 300)); }},
  };
  for (const auto& [what, make_token] : bad) {
    SCOPED_TRACE(what);
    auto loaded = NewSession();
    t_.clock.Advance(580);
    t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2", make_token()));
    auto r = Refresh(loaded);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), Errc::kInvalidGrant);
    EXPECT_FALSE(Stored(loaded.id).has_value());
    auto keys = t_.store.Keys();
    EXPECT_EQ(std::count(keys.begin(), keys.end(), LockKeyOf(loaded.id)), 0);
  }
}

TEST_F(SessionRefreshTest, InvalidGrantEndsTheSession) {
  auto loaded = NewSession();
  std::set<std::string> keys_before = KeysNow();
  t_.clock.Advance(580);
  t_.http.Respond(TestSite::kTokenUrl, 400, R"({"error":"invalid_grant"})");
  auto r = Refresh(loaded);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kInvalidGrant);
  EXPECT_FALSE(Stored(loaded.id).has_value());
  EXPECT_TRUE(t_.log.HasTag(170));
  ExpectNoLockLeft(loaded.id, keys_before);
}

TEST_F(SessionRefreshTest, ProviderDownKeepsTheSession) {
  auto loaded = NewSession();
  std::set<std::string> keys_before = KeysNow();
  t_.clock.Advance(580);
  t_.http.Fail(TestSite::kTokenUrl);
  auto r = Refresh(loaded);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kHttpFailure);
  auto stored = Stored(loaded.id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->access_token, "AT-1");
  EXPECT_EQ(stored->refresh_token, "RT-1");
  ExpectNoLockLeft(loaded.id, keys_before);

  // Once the provider is back, the next request refreshes.
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2"));
  auto again = Refresh(loaded);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->access_token, "AT-2");
}

TEST_F(SessionRefreshTest, ProviderErrorKeepsTheSession) {
  auto loaded = NewSession();
  t_.clock.Advance(580);
  t_.http.Respond(TestSite::kTokenUrl, 500, R"({"error":"server_error"})");
  std::set<std::string> keys_before = KeysNow();
  auto r = Refresh(loaded);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kProviderError);
  EXPECT_TRUE(Stored(loaded.id).has_value());
  ExpectNoLockLeft(loaded.id, keys_before);
}

TEST_F(SessionRefreshTest, TokenRefreshedByAnotherFlightIsUsedWithoutARequest) {
  auto loaded = NewSession();
  t_.clock.Advance(580);
  // Another request (or node) refreshed it a moment ago.
  const int64_t now = t_.clock.NowSeconds();
  auto stored = t_.sessions->Update(
      loaded.id,
      [&](SessionRecord& r) {
        r.access_token = "AT-other";
        r.access_issued_at = now;
        r.access_expires_at = now + 600;
      },
      now);
  ASSERT_TRUE(stored.ok() && *stored);
  auto r = Refresh(loaded);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->access_token, "AT-other");
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(SessionRefreshTest, SessionEndedMeanwhileIsInvalidGrant) {
  auto loaded = NewSession();
  t_.clock.Advance(580);
  ASSERT_TRUE(t_.sessions->Destroy(loaded.id).ok());
  auto r = Refresh(loaded);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kInvalidGrant);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(SessionRefreshTest, StoreOutageIsReportedAndSendsNothing) {
  auto loaded = NewSession();
  t_.clock.Advance(580);
  t_.store.set_unavailable(true);
  auto r = Refresh(loaded);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kStoreUnavailable);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(SessionRefreshTest, RefreshTokensNeverAppearInLogs) {
  auto loaded = NewSession();
  t_.clock.Advance(580);
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2"));
  ASSERT_TRUE(Refresh(loaded).ok());
  t_.clock.Advance(580);
  t_.http.Respond(TestSite::kTokenUrl, 400, R"({"error":"invalid_grant"})");
  (void)Refresh(Current(loaded.id));
  for (const char* secret : {"RT-1", "RT-2", "AT-1", "AT-2", TestSite::kClientSecret}) {
    EXPECT_FALSE(t_.log.AnyContains(secret)) << secret;
  }
}

// --- RefreshSession: single flight -------------------------------------------------------------

class SingleFlightTest : public SessionRefreshTest {
 protected:
  SingleFlightTest()
      : counting_(t_.store, &adds_, &refused_callers_),
        sessions_(counting_, t_.session_config, t_.random) {}

  Site CountingSite() {
    return Site{*t_.provider, t_.session_config, sessions_, t_.clock, t_.random, t_.log};
  }
  // The token endpoint answers `body` once the test opens the latch; counts what it receives.
  void HoldTokenResponse(const std::string& body) {
    t_.http.Handle(TestSite::kTokenUrl, [this, body](const HttpRequest&) {
      in_flight_.fetch_add(1);
      gate_.Wait();
      HttpResponse r;
      r.status = 200;
      r.content_type = "application/json";
      r.body = body;
      return Result<HttpResponse>(r);
    });
  }

  // True once the holder has stored its result and released the lock (bounded in real time;
  // the holder runs on another thread).
  bool WaitUntilLockReleased(std::string_view id) {
    for (int i = 0; i < 10'000'000; ++i) {
      auto held = t_.store.Exists(LockKeyOf(id), t_.clock.NowSeconds());
      if (held.ok() && !*held) {
        return true;
      }
      std::this_thread::yield();
    }
    return false;
  }

  std::atomic<int> adds_{0};
  std::atomic<int> refused_callers_{0};
  std::atomic<int> in_flight_{0};
  Latch gate_;
  CountingStore counting_;
  Sessions sessions_;
};

TEST_F(SingleFlightTest, SixteenThreadsSendOneRefreshAndAllGetTheNewToken) {
  constexpr int kThreads = 16;
  auto loaded = NewSession(sessions_);
  std::set<std::string> keys_before = KeysNow();
  t_.clock.Advance(580);
  t_.clock.HoldSleepers();
  HoldTokenResponse(TokenJson("AT-2", "RT-2"));
  // Discovery first, so only the refresh itself can be held.
  ASSERT_TRUE(t_.provider->Metadata().ok());

  std::vector<std::optional<Result<SessionRecord>>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Site site = CountingSite();
      results[static_cast<size_t>(i)].emplace(RefreshSession(site, loaded));
    });
  }
  // Every other thread has been refused the lock while the one refresh is held at the provider.
  bool all_refused = counting_.WaitForRefusedCallers(kThreads - 1);
  EXPECT_TRUE(all_refused) << "only " << refused_callers_.load() << " threads refused";
  EXPECT_TRUE(t_.clock.WaitForSleepers(kThreads - 1));
  gate_.Open();
  EXPECT_TRUE(WaitUntilLockReleased(loaded.id));
  t_.clock.Advance(1);  // the waiters wake to find the holder's tokens
  for (auto& th : threads) {
    th.join();
  }

  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 1);
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(results[static_cast<size_t>(i)].has_value());
    const auto& r = *results[static_cast<size_t>(i)];
    ASSERT_TRUE(r.ok()) << "thread " << i << ": " << r.error().detail;
    EXPECT_EQ(r->access_token, "AT-2") << "thread " << i;
  }
  EXPECT_EQ(Stored(loaded.id)->refresh_token, "RT-2");
  ExpectNoLockLeft(loaded.id, keys_before);
}

TEST_F(SingleFlightTest, WaitersLearnThatAnInvalidGrantEndedTheSession) {
  constexpr int kThreads = 8;
  auto loaded = NewSession(sessions_);
  std::set<std::string> keys_before = KeysNow();
  t_.clock.Advance(580);
  t_.clock.HoldSleepers();
  ASSERT_TRUE(t_.provider->Metadata().ok());
  t_.http.Handle(TestSite::kTokenUrl, [this](const HttpRequest&) {
    in_flight_.fetch_add(1);
    gate_.Wait();
    HttpResponse r;
    r.status = 400;
    r.body = R"({"error":"invalid_grant"})";
    return Result<HttpResponse>(r);
  });
  std::vector<Errc> codes(kThreads, Errc::kOk);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Site site = CountingSite();
      codes[static_cast<size_t>(i)] = RefreshSession(site, loaded).code();
    });
  }
  EXPECT_TRUE(counting_.WaitForRefusedCallers(kThreads - 1));
  EXPECT_TRUE(t_.clock.WaitForSleepers(kThreads - 1));
  gate_.Open();
  EXPECT_TRUE(WaitUntilLockReleased(loaded.id));
  t_.clock.Advance(1);
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 1);
  for (Errc c : codes) {
    EXPECT_EQ(c, Errc::kInvalidGrant);
  }
  EXPECT_FALSE(Stored(loaded.id).has_value());
  ExpectNoLockLeft(loaded.id, keys_before);
}

TEST_F(SingleFlightTest, LockOfADeadOwnerExpiresAndTheNextRequestRefreshes) {
  auto loaded = NewSession(sessions_);
  std::set<std::string> keys_before = KeysNow();
  t_.clock.Advance(580);
  int64_t now = t_.clock.NowSeconds();
  const ProviderConfig& p = *t_.provider_config;
  const int64_t ttl = (p.connect_timeout_ms + p.timeout_ms) / 1000 + 2;
  // A process took the lock and died before releasing it.
  ASSERT_TRUE(*t_.store.Add(LockKeyOf(loaded.id), "dead-owner", now + ttl, now));
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2"));

  t_.clock.Advance(ttl);
  Site site = CountingSite();
  auto r = RefreshSession(site, loaded);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->access_token, "AT-2");
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 1);
  ExpectNoLockLeft(loaded.id, keys_before);
}

// A waiter never refreshes itself: the holder may already have spent the refresh token. When
// the holder's lock goes away without a new token (it died, or its refresh failed), the waiter
// reports a failure and the next request starts a new flight.
TEST_F(SingleFlightTest, WaiterOfADeadOwnerGivesUpWithoutSpendingTheToken) {
  auto loaded = NewSession(sessions_);
  std::set<std::string> keys_before = KeysNow();
  t_.clock.Advance(580);
  int64_t now = t_.clock.NowSeconds();
  ASSERT_TRUE(t_.provider->Metadata().ok());
  ASSERT_TRUE(*t_.store.Add(LockKeyOf(loaded.id), "dead-owner", now + 30, now));
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2"));
  t_.clock.HoldSleepers();

  std::optional<Result<SessionRecord>> result;
  std::thread waiter([&] {
    Site site = CountingSite();
    result.emplace(RefreshSession(site, loaded));
  });
  EXPECT_TRUE(counting_.WaitForRefusedCallers(1));
  ASSERT_TRUE(t_.clock.WaitForSleepers(1));
  t_.clock.Advance(30);  // the dead owner's lease ends while the waiter sleeps
  waiter.join();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->code(), Errc::kHttpFailure);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);

  Site site = CountingSite();
  auto next = RefreshSession(site, loaded);
  ASSERT_TRUE(next.ok()) << next.error().detail;
  EXPECT_EQ(next->access_token, "AT-2");
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 1);
  ExpectNoLockLeft(loaded.id, keys_before);
}

TEST_F(SingleFlightTest, WaiterUsesTheTokensTheHolderStored) {
  auto loaded = NewSession(sessions_);
  t_.clock.Advance(580);
  int64_t now = t_.clock.NowSeconds();
  ASSERT_TRUE(t_.provider->Metadata().ok());
  ASSERT_TRUE(*t_.store.Add(LockKeyOf(loaded.id), "holder", now + 30, now));
  t_.clock.HoldSleepers();

  std::optional<Result<SessionRecord>> result;
  std::thread waiter([&] {
    Site site = CountingSite();
    result.emplace(RefreshSession(site, loaded));
  });
  EXPECT_TRUE(counting_.WaitForRefusedCallers(1));
  ASSERT_TRUE(t_.clock.WaitForSleepers(1));
  // The holder (another process) stores its result, then releases its lock.
  auto stored = t_.sessions->Update(
      loaded.id,
      [](SessionRecord& r) {
        r.access_token = "AT-holder";
        r.refresh_token = "RT-holder";
      },
      now);
  ASSERT_TRUE(stored.ok() && *stored);
  ASSERT_TRUE(t_.store.EraseIfEquals(LockKeyOf(loaded.id), "holder").ok());
  t_.clock.AdvanceMillis(25);  // the waiter's next look
  waiter.join();
  ASSERT_TRUE(result.has_value() && result->ok()) << result->error().detail;
  EXPECT_EQ((*result)->access_token, "AT-holder");
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(SingleFlightTest, WaiterAfterTheHoldersFailureReportsItAndSpendsNothing) {
  auto loaded = NewSession(sessions_);
  t_.clock.Advance(580);
  int64_t now = t_.clock.NowSeconds();
  ASSERT_TRUE(t_.provider->Metadata().ok());
  ASSERT_TRUE(*t_.store.Add(LockKeyOf(loaded.id), "holder", now + 30, now));
  t_.clock.HoldSleepers();
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2"));

  std::optional<Result<SessionRecord>> result;
  std::thread waiter([&] {
    Site site = CountingSite();
    result.emplace(RefreshSession(site, loaded));
  });
  EXPECT_TRUE(counting_.WaitForRefusedCallers(1));
  ASSERT_TRUE(t_.clock.WaitForSleepers(1));
  // The holder's refresh failed (say the provider timed out): it releases the lock, no token.
  ASSERT_TRUE(t_.store.EraseIfEquals(LockKeyOf(loaded.id), "holder").ok());
  t_.clock.AdvanceMillis(25);
  waiter.join();
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->code(), Errc::kHttpFailure);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0) << "a waiter spent the refresh token";
  EXPECT_EQ(Stored(loaded.id)->refresh_token, "RT-1");
}

// Discovery and keys are fetched before the lock: however slow they are, the lease still covers
// the token call that follows, so no second request can take the lock and spend the token.
TEST_F(SingleFlightTest, SlowDiscoveryDoesNotEatIntoTheLease) {
  auto loaded = NewSession(sessions_);
  t_.clock.Advance(580);
  const ProviderConfig& p = *t_.provider_config;
  // Discovery takes 40 s of (simulated) time, longer than a whole lease.
  t_.http.Handle(TestSite::kDiscoveryUrl, [this](const HttpRequest&) {
    t_.clock.Advance(40);
    HttpResponse r;
    r.status = 200;
    r.content_type = "application/json";
    r.body = t_.DiscoveryJson();
    return Result<HttpResponse>(r);
  });
  std::optional<int64_t> lease_left_at_token_call;
  t_.http.Handle(TestSite::kTokenUrl, [&](const HttpRequest&) {
    auto expiry = t_.store.ExpiryOf(LockKeyOf(loaded.id));
    if (expiry) {
      lease_left_at_token_call = *expiry - t_.clock.NowSeconds();
    }
    // The provider then takes its whole timeout to answer.
    t_.clock.Advance(p.timeout_ms / 1000);
    HttpResponse r;
    r.status = 200;
    r.content_type = "application/json";
    r.body = TokenJson("AT-2", "RT-2");
    return Result<HttpResponse>(r);
  });
  Site site = CountingSite();
  auto r = RefreshSession(site, loaded);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  ASSERT_TRUE(lease_left_at_token_call.has_value()) << "the token call ran without the lock";
  // Enough for the token call and one key fetch, each up to the whole HTTP timeout.
  EXPECT_GT(*lease_left_at_token_call, 2 * p.timeout_ms / 1000);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 1);
}

// A request that arrives while the refresh is held at the provider must wait, not refresh again.
TEST_F(SingleFlightTest, RequestArrivingDuringAHeldRefreshWaits) {
  auto loaded = NewSession(sessions_);
  t_.clock.Advance(580);
  ASSERT_TRUE(t_.provider->Metadata().ok());
  HoldTokenResponse(TokenJson("AT-2", "RT-2"));
  t_.clock.HoldSleepers();

  std::optional<Result<SessionRecord>> first;
  std::thread holder([&] {
    Site site = CountingSite();
    first.emplace(RefreshSession(site, loaded));
  });
  for (int i = 0; i < 10'000'000 && in_flight_.load() == 0; ++i) {
    std::this_thread::yield();
  }
  ASSERT_EQ(in_flight_.load(), 1);
  std::optional<Result<SessionRecord>> second;
  std::thread other([&] {
    Site site = CountingSite();
    second.emplace(RefreshSession(site, loaded));
  });
  EXPECT_TRUE(counting_.WaitForRefusedCallers(1));
  ASSERT_TRUE(t_.clock.WaitForSleepers(1));
  gate_.Open();
  holder.join();
  t_.clock.Advance(1);
  other.join();
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 1);
  ASSERT_TRUE(first.has_value() && first->ok());
  ASSERT_TRUE(second.has_value() && second->ok());
  EXPECT_EQ((*second)->access_token, "AT-2");
}

// --- Across processes: forked children sharing one ShmStore ------------------------------

using coinpay::testing::SharedMapping;

// Counters every process sees (lock-free atomics in a MAP_SHARED page).
struct SharedCounters {
  std::atomic<int> started;
  std::atomic<int> adds;
  std::atomic<int> refused_processes;
  std::atomic<int> refresh_requests;
};
static_assert(std::atomic<int>::is_always_lock_free);

bool SpinUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

TEST(SessionRefreshAcrossProcesses, ForkedProcessesSendExactlyOneRefresh) {
  constexpr int kProcesses = 4;
  constexpr size_t kCapacity = 64;
  constexpr size_t kEntrySize = 4096;
  SharedMapping region(ShmStore::RegionSize(kCapacity, kEntrySize));
  ASSERT_NE(region.base(), nullptr);
  auto shm = ShmStore::Create(region.base(), region.size(), kCapacity, kEntrySize);
  ASSERT_TRUE(shm.ok()) << shm.error().detail;
  SharedMapping counters_page(sizeof(SharedCounters));
  ASSERT_NE(counters_page.base(), nullptr);
  auto* counters = new (counters_page.base()) SharedCounters{};

  TestSite t;
  t.ServeDiscovery();
  // The winner's refresh is held at the provider until every other process has been refused
  // the lock. Each process counts its own refresh requests into the shared page.
  t.http.Handle(TestSite::kTokenUrl, [counters](const HttpRequest&) {
    counters->refresh_requests.fetch_add(1);
    SpinUntil([&] { return counters->refused_processes.load() >= kProcesses - 1; },
              std::chrono::seconds(10));
    HttpResponse r;
    r.status = 200;
    r.content_type = "application/json";
    r.body = TokenJson("AT-2", "RT-2");
    return Result<HttpResponse>(r);
  });
  CountingStore counting(**shm, &counters->adds, &counters->refused_processes);
  Sessions sessions(counting, t.session_config, t.random);

  int64_t now = t.clock.NowSeconds();
  SessionRecord rec = t.NewRecord("");
  rec.sub = "user-42";
  rec.access_token = "AT-1";
  rec.refresh_token = "RT-1";
  rec.access_issued_at = now;
  rec.access_expires_at = now + 600;
  auto id = sessions.Create(rec, now);
  ASSERT_TRUE(id.ok());
  auto stored = sessions.LoadById(*id, now);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  Sessions::Loaded loaded = **stored;
  t.clock.Advance(580);

  std::vector<pid_t> pids;
  for (int c = 0; c < kProcesses; ++c) {
    pid_t pid = fork();
    if (pid == 0) {
      // Each process has its own randomness (lock owner tokens), as httpd children do.
      FakeRandom random(0x1234567ull + static_cast<uint64_t>(c) * 7919);
      // A waiter's sleep lasts until the holder (another process) has released its lock, in
      // real time: simulated time alone would run the waiter past its deadline first.
      t.clock.OnSleep([&] {
        SpinUntil(
            [&] {
              auto held = (*shm)->Exists(LockKeyOf(*id), t.clock.NowSeconds());
              return held.ok() && !*held;
            },
            std::chrono::seconds(10));
      });
      Site site{*t.provider, t.session_config, sessions, t.clock, random, t.log};
      counters->started.fetch_add(1);
      if (!SpinUntil([&] { return counters->started.load() >= kProcesses; },
                     std::chrono::seconds(10))) {
        _exit(20);
      }
      auto r = RefreshSession(site, loaded);
      if (!r.ok()) {
        _exit(30 + static_cast<int>(r.code()));
      }
      _exit(r->access_token == "AT-2" ? 0 : 11);
    }
    ASSERT_GT(pid, 0);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  EXPECT_EQ(counters->refresh_requests.load(), 1);
  EXPECT_EQ(counters->refused_processes.load(), kProcesses - 1);
  // The parent's own HTTP client was never used: every request was made in a child.
  EXPECT_EQ(t.http.CountFor(TestSite::kTokenUrl), 0);

  auto after = sessions.LoadById(*id, t.clock.NowSeconds());
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->record.access_token, "AT-2");
  EXPECT_EQ((*after)->record.refresh_token, "RT-2");
  auto lock = (*shm)->Get(LockKeyOf(*id), t.clock.NowSeconds());
  ASSERT_TRUE(lock.ok());
  EXPECT_FALSE(lock->has_value()) << "the refresh lock was left in the shared store";
  EXPECT_TRUE((*shm)->Verify().ok());
}

}  // namespace
}  // namespace coinpay
