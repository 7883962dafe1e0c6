// The verified-token cache: an entry serves until its expiry, never past it, and the cache never
// grows past its capacity however many tokens pass through it.
#include "core/token_cache.h"

#include <gtest/gtest.h>

#include "core/crypto.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace coinpay {
namespace {

constexpr int64_t kNow = 1'700'000'000;

std::shared_ptr<const Identity> IdentityOf(const std::string& user) {
  auto id = std::make_shared<Identity>();
  auto name = std::make_shared<const std::string>(user);  // what the identity's view reads
  id->user = *name;
  id->storage = name;
  return id;
}

TEST(VerifiedTokenCache, UnknownTokenIsAMiss) {
  VerifiedTokenCache cache(100);
  EXPECT_EQ(cache.Find("never-inserted", kNow), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

// A lookup takes a view of the request's header: it finds the entry inserted from another
// buffer holding the same token, and hands back that entry's identity itself, not a copy.
TEST(VerifiedTokenCache, LookupByAViewFindsTheSameSharedEntry) {
  VerifiedTokenCache cache(100);
  auto alice = IdentityOf("alice");
  cache.Insert(std::string("header.payload.sig"), alice, kNow + 60, kNow);
  const std::string header = "Bearer header.payload.sig";
  std::string_view view = std::string_view(header).substr(7);
  EXPECT_EQ(cache.Find(view, kNow), alice);
  EXPECT_EQ(cache.Find(std::string_view(header).substr(7, 10), kNow), nullptr);  // a prefix
  EXPECT_EQ(cache.Find("header.payload.sig2", kNow), nullptr);
}

TEST(VerifiedTokenCache, HitUntilExpiryThenMiss) {
  VerifiedTokenCache cache(100);
  cache.Insert("token-a", IdentityOf("alice"), kNow + 300, kNow);
  for (int64_t t : {kNow, kNow + 1, kNow + 299}) {
    auto hit = cache.Find("token-a", t);
    ASSERT_NE(hit, nullptr) << "at +" << (t - kNow);
    EXPECT_EQ(hit->user, "alice");
  }
  EXPECT_EQ(cache.Find("token-a", kNow + 300), nullptr);
  // An expired entry is dropped when found, and stays a miss even if time were to go back.
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Find("token-a", kNow), nullptr);
}

TEST(VerifiedTokenCache, AlreadyExpiredInsertIsNeverServed) {
  VerifiedTokenCache cache(100);
  cache.Insert("token-old", IdentityOf("old"), kNow - 1, kNow);
  EXPECT_EQ(cache.Find("token-old", kNow), nullptr);
}

TEST(VerifiedTokenCache, DifferentTokensDoNotCollide) {
  VerifiedTokenCache cache(1000);
  // Tokens that share long prefixes / suffixes, as JWTs with the same header do.
  std::vector<std::string> tokens;
  for (int i = 0; i < 200; ++i) {
    tokens.push_back("eyJhbGciOiJSUzI1NiJ9.payload-" + std::to_string(i) + ".sig");
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    cache.Insert(tokens[i], IdentityOf("user-" + std::to_string(i)), kNow + 600, kNow);
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto hit = cache.Find(tokens[i], kNow);
    ASSERT_NE(hit, nullptr) << tokens[i];
    EXPECT_EQ(hit->user, "user-" + std::to_string(i));
  }
  EXPECT_EQ(cache.Find("eyJhbGciOiJSUzI1NiJ9.payload-1.si", kNow), nullptr);
  EXPECT_EQ(cache.Find("eyJhbGciOiJSUzI1NiJ9.payload-1.sig ", kNow), nullptr);
  EXPECT_EQ(cache.Find("", kNow), nullptr);
}

// The hash reads only a token's end (its signature): a token whose signature was lifted onto
// another payload hashes alike, and is still no hit, because the lookup compares whole tokens.
TEST(VerifiedTokenCache, TokensSharingTheirSignatureAreStillToldApart) {
  VerifiedTokenCache cache(100);
  const std::string signature(200, 's');
  const std::string a = "header.payload-a." + signature;
  const std::string b = "header.payload-b." + signature;
  cache.Insert(a, IdentityOf("alice"), kNow + 600, kNow);
  EXPECT_EQ(cache.Find(b, kNow), nullptr) << "a lifted signature matched";
  cache.Insert(b, IdentityOf("bob"), kNow + 600, kNow);
  ASSERT_NE(cache.Find(a, kNow), nullptr);
  ASSERT_NE(cache.Find(b, kNow), nullptr);
  EXPECT_EQ(cache.Find(a, kNow)->user, "alice");
  EXPECT_EQ(cache.Find(b, kNow)->user, "bob");
  EXPECT_EQ(cache.Find("header.payload-c." + signature, kNow), nullptr);
}

TEST(VerifiedTokenCache, ReinsertingATokenReplacesItsEntry) {
  VerifiedTokenCache cache(100);
  cache.Insert("token-a", IdentityOf("first"), kNow + 10, kNow);
  cache.Insert("token-a", IdentityOf("second"), kNow + 600, kNow);
  EXPECT_EQ(cache.size(), 1u);
  auto hit = cache.Find("token-a", kNow + 100);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->user, "second");
}

TEST(VerifiedTokenCache, StaysBoundedUnderManyInserts) {
  constexpr size_t kCapacity = 64;
  VerifiedTokenCache cache(kCapacity);
  for (int i = 0; i < 20000; ++i) {
    cache.Insert("tok-" + std::to_string(i), IdentityOf("u"), kNow + 3600, kNow);
  }
  // Per-shard rounding allows at most one extra entry per shard (16 shards).
  EXPECT_LE(cache.size(), kCapacity + 16);
  EXPECT_GT(cache.size(), 0u);
  // The most recent insert is always kept.
  EXPECT_NE(cache.Find("tok-19999", kNow), nullptr);
}

// Tokens that land in shard `shard`, as the cache spreads them.
std::vector<std::string> TokensInShard(int shard, size_t n, const std::string& prefix) {
  std::vector<std::string> out;
  for (int i = 0; out.size() < n; ++i) {
    std::string token = prefix + std::to_string(i);
    if (VerifiedTokenCache::ShardIndexOf(token) == static_cast<size_t>(shard)) {
      out.push_back(token);
    }
  }
  return out;
}

TEST(VerifiedTokenCache, FullShardDropsExpiredEntriesBeforeLiveOnes) {
  VerifiedTokenCache cache(32);  // 3 entries per shard
  auto tokens = TokensInShard(5, 4, "same-shard-");
  const std::string& keeper = tokens[0];
  const std::string& short_lived = tokens[1];
  cache.Insert(keeper, IdentityOf("keeper"), kNow + 3600, kNow);
  cache.Insert(short_lived, IdentityOf("short"), kNow + 10, kNow);
  cache.Insert(tokens[2], IdentityOf("n1"), kNow + 3600, kNow + 20);
  // The shard is full now; the next insert must make room by dropping the expired entry.
  cache.Insert(tokens[3], IdentityOf("n2"), kNow + 3600, kNow + 20);
  EXPECT_NE(cache.Find(keeper, kNow + 20), nullptr);
  EXPECT_NE(cache.Find(tokens[2], kNow + 20), nullptr);
  EXPECT_NE(cache.Find(tokens[3], kNow + 20), nullptr);
  EXPECT_EQ(cache.Find(short_lived, kNow + 5), nullptr);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(VerifiedTokenCache, FullShardOfLiveEntriesEvictsOneAndKeepsTheNewest) {
  VerifiedTokenCache cache(32);  // 3 entries per shard
  auto tokens = TokensInShard(9, 10, "live-");
  for (const auto& t : tokens) {
    cache.Insert(t, IdentityOf(t), kNow + 3600, kNow);
    ASSERT_NE(cache.Find(t, kNow), nullptr) << t;
  }
  EXPECT_EQ(cache.size(), 3u);
}

TEST(VerifiedTokenCache, ConcurrentInsertsAndFindsStayBoundedAndCorrect) {
  constexpr size_t kCapacity = 256;
  VerifiedTokenCache cache(kCapacity);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string token = "t" + std::to_string(t) + "-" + std::to_string(i);
        cache.Insert(token, IdentityOf(token), kNow + 60, kNow);
        auto hit = cache.Find(token, kNow);
        if (hit != nullptr && hit->user != token) {
          wrong++;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.size(), kCapacity + 16);
}

TEST(VerifiedTokenCache, ItsIntrospectionAnswersShareItsCapacityAndNotItsEntries) {
  VerifiedTokenCache cache(4);
  auto refused = [] {
    return IntrospectionCache::Answer{IntrospectionVerdict::Refused("refused"), kNow + 60};
  };
  for (int i = 0; i < 100; ++i) {
    cache.introspection().Resolve("opaque-" + std::to_string(i), kNow, refused);
  }
  EXPECT_EQ(cache.introspection().size(), 4u);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Find("opaque-99", kNow), nullptr);
}

}  // namespace
}  // namespace coinpay
