// The introspection cache on its own: verdicts remembered until their time, never past it,
// under a hash of the token; least recently used entries leave first; one `ask` per token in
// flight, waiters bounded; a failing or throwing `ask` never leaves a token stuck in flight.
#include "core/introspection_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "fakes.h"

namespace coinpay {
namespace {

using Answer = IntrospectionCache::Answer;
using Kind = IntrospectionVerdict::Kind;

constexpr int64_t kNow = 1'700'000'000;

Answer RefusedUntil(int64_t until) {
  return Answer{IntrospectionVerdict::Refused("refused"), until};
}

Answer AllowedUntil(const std::string& user, int64_t until) {
  auto id = std::make_shared<Identity>();
  auto name = std::make_shared<const std::string>(user);  // what the identity's view reads
  id->user = *name;
  id->storage = name;
  return Answer{IntrospectionVerdict::Allowed(std::move(id)), until};
}

TEST(IntrospectionCache, AVerdictIsRememberedUntilItsTimeThenAskedAgain) {
  IntrospectionCache cache({.capacity = 10});
  int asks = 0;
  auto ask = [&asks] {
    ++asks;
    return AllowedUntil("alice", kNow + 30);
  };
  for (int64_t t : {kNow, kNow + 1, kNow + 29}) {
    IntrospectionVerdict v = cache.Resolve("tok", t, ask);
    ASSERT_EQ(v.kind, Kind::kAllowed);
    EXPECT_EQ(v.identity->user, "alice");
  }
  EXPECT_EQ(asks, 1);
  EXPECT_EQ(cache.Resolve("tok", kNow + 30, ask).kind, Kind::kAllowed);
  EXPECT_EQ(asks, 2);
}

TEST(IntrospectionCache, UnavailableAndPastVerdictsAreNotRemembered) {
  IntrospectionCache cache({.capacity = 10});
  int asks = 0;
  auto unavailable = [&asks] {
    ++asks;
    return Answer{IntrospectionVerdict::Unavailable(), kNow + 60};
  };
  EXPECT_EQ(cache.Resolve("tok", kNow, unavailable).kind, Kind::kUnavailable);
  EXPECT_EQ(cache.Resolve("tok", kNow, unavailable).kind, Kind::kUnavailable);
  EXPECT_EQ(asks, 2);
  auto already_over = [&asks] {
    ++asks;
    return RefusedUntil(kNow);
  };
  EXPECT_EQ(cache.Resolve("other", kNow, already_over).kind, Kind::kRefused);
  EXPECT_EQ(cache.Resolve("other", kNow, already_over).kind, Kind::kRefused);
  EXPECT_EQ(asks, 4);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(IntrospectionCache, TheKeyIsAHashOfTheToken) {
  IntrospectionCache::Key a = IntrospectionCache::KeyOf("token-a");
  EXPECT_NE(a, IntrospectionCache::KeyOf("token-b"));
  EXPECT_EQ(a, IntrospectionCache::KeyOf("token-a"));
  std::string key(a.begin(), a.end());
  EXPECT_EQ(key.find("token-a"), std::string::npos);
}

TEST(IntrospectionCache, NeverHoldsMoreThanItsCapacityAndEvictsTheLeastRecentlyUsed) {
  IntrospectionCache cache({.capacity = 3});
  int asks = 0;
  auto ask = [&asks] {
    ++asks;
    return RefusedUntil(kNow + 60);
  };
  for (const char* t : {"a", "b", "c"}) {
    cache.Resolve(t, kNow, ask);
  }
  cache.Resolve("a", kNow, ask);  // "b" is now the least recently used
  cache.Resolve("d", kNow, ask);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(asks, 4);
  for (const char* t : {"a", "c", "d"}) {
    cache.Resolve(t, kNow, ask);
  }
  EXPECT_EQ(asks, 4);
  cache.Resolve("b", kNow, ask);
  EXPECT_EQ(asks, 5);
  for (int i = 0; i < 1000; ++i) {
    cache.Resolve("flood-" + std::to_string(i), kNow, ask);
  }
  EXPECT_EQ(cache.size(), 3u);
}

TEST(IntrospectionCache, AWaiterGivesUpAfterMaxWaitAndTheLeaderStillFinishes) {
  IntrospectionCache cache({.capacity = 10, .max_wait = std::chrono::milliseconds(1)});
  testing::Latch entered;
  testing::Latch release;
  IntrospectionVerdict leader;
  std::thread t([&] {
    leader = cache.Resolve("slow", kNow, [&] {
      entered.Open();
      release.Wait();
      return AllowedUntil("bob", kNow + 60);
    });
  });
  entered.Wait();
  // The leader is held inside ask: this call waits for it, and gives up.
  IntrospectionVerdict waiter =
      cache.Resolve("slow", kNow, [] { return AllowedUntil("never asked", kNow + 60); });
  EXPECT_EQ(waiter.kind, Kind::kUnavailable);
  release.Open();
  t.join();
  ASSERT_EQ(leader.kind, Kind::kAllowed);
  IntrospectionVerdict later =
      cache.Resolve("slow", kNow, [] { return AllowedUntil("never asked", kNow + 60); });
  ASSERT_EQ(later.kind, Kind::kAllowed);
  EXPECT_EQ(later.identity->user, "bob");
}

TEST(IntrospectionCache, AThrowingAskLeavesNoTokenInFlight) {
  IntrospectionCache cache({.capacity = 10, .max_wait = std::chrono::milliseconds(1)});
  EXPECT_THROW(cache.Resolve("tok", kNow, []() -> Answer { throw std::runtime_error("boom"); }),
               std::runtime_error);
  int asks = 0;
  IntrospectionVerdict v = cache.Resolve("tok", kNow, [&asks] {
    ++asks;
    return RefusedUntil(kNow + 60);
  });
  EXPECT_EQ(v.kind, Kind::kRefused);
  EXPECT_EQ(asks, 1);
}

TEST(IntrospectionCache, ManyThreadsOnOneTokenAskOnce) {
  IntrospectionCache cache({.capacity = 10});
  constexpr int kThreads = 16;
  std::atomic<int> asks{0};
  auto ask = [&] {
    ++asks;
    // Held until every other thread waits (bounded, so a broken merge shows as more asks).
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (cache.waiting() < kThreads - 1 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
    return RefusedUntil(kNow + 60);
  };
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      if (cache.Resolve("shared", kNow, ask).kind == Kind::kRefused) {
        ++refused;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(asks.load(), 1);
  EXPECT_EQ(refused.load(), kThreads);
}

}  // namespace
}  // namespace coinpay
