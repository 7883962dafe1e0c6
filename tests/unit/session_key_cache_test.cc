// A returning browser's session id is hashed once per process: the id -> store key cache, and
// the keyed hash that picks its slot.
#include "core/session_key_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/siphash.h"
#include "fakes.h"

namespace coinpay {
namespace {

SipHashKey KeyZeroToFifteen() {
  SipHashKey key{};
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<uint8_t>(i);
  }
  return key;
}

TEST(SipHash24, MatchesThePapersTestVectors) {
  // Appendix A of the SipHash paper, and the first entry of the reference vectors.
  std::string message;
  for (int i = 0; i < 15; ++i) {
    message.push_back(static_cast<char>(i));
  }
  EXPECT_EQ(SipHash24(KeyZeroToFifteen(), message), 0xa129ca6149be45e5ULL);
  EXPECT_EQ(SipHash24(KeyZeroToFifteen(), ""), 0x726fdb47dd0e0e31ULL);
}

TEST(SipHash24, AnotherKeyPicksAnotherHash) {
  SipHashKey other = KeyZeroToFifteen();
  other[0] ^= 1;
  EXPECT_NE(SipHash24(KeyZeroToFifteen(), "session-id"), SipHash24(other, "session-id"));
}

const std::string kIdA = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";  // 43 chars, as issued
const std::string kIdB = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB";

TEST(SessionKeyCache, ARememberedIdGivesBackItsStoreKey) {
  testing::FakeRandom random;
  SessionKeyCache cache(64, random);
  ShortBytes key;
  EXPECT_FALSE(cache.Find(kIdA, key));
  cache.Remember(kIdA, Sha256(kIdA));
  ASSERT_TRUE(cache.Find(kIdA, key));
  EXPECT_EQ(key, Sha256(kIdA));
}

TEST(SessionKeyCache, AnIdNeverAnswersForAnotherInItsSlot) {
  testing::FakeRandom random;
  SessionKeyCache cache(1, random);  // every id shares the one slot
  cache.Remember(kIdA, Sha256(kIdA));
  ShortBytes key;
  EXPECT_FALSE(cache.Find(kIdB, key));
  EXPECT_FALSE(cache.Find(kIdA.substr(0, 42), key)) << "a prefix is another id";
  EXPECT_FALSE(cache.Find(kIdA + "A", key));
  cache.Remember(kIdB, Sha256(kIdB));  // the newer id takes the slot
  EXPECT_FALSE(cache.Find(kIdA, key));
  ASSERT_TRUE(cache.Find(kIdB, key));
  EXPECT_EQ(key, Sha256(kIdB));
}

TEST(SessionKeyCache, AnIdsLastReadRecordComesBackOnlyForThatId) {
  testing::FakeRandom random;
  SessionKeyCache cache(1, random);  // every id shares the one slot
  auto record = std::make_shared<const StoredSession>("record of A");
  cache.Remember(kIdA, Sha256(kIdA), record);
  ShortBytes key;
  std::shared_ptr<const StoredSession> seen;
  ASSERT_TRUE(cache.Find(kIdA, key, &seen));
  EXPECT_EQ(seen, record);
  seen = nullptr;
  EXPECT_FALSE(cache.Find(kIdB, key, &seen));
  EXPECT_EQ(seen, nullptr);
  cache.Remember(kIdB, Sha256(kIdB));  // the newer id takes the slot, without a record
  ASSERT_TRUE(cache.Find(kIdB, key, &seen));
  EXPECT_EQ(seen, nullptr);
  EXPECT_EQ(record.use_count(), 1) << "the slot let go of A's record";
}

TEST(SessionKeyCache, KeepsRecordsOnlyWithinItsBudget) {
  testing::FakeRandom random;
  const std::string bytes(1000, 'r');
  // Room for two records; 4096 slots, so these three ids have slots of their own.
  SessionKeyCache cache(4096, random, 2 * (2 * bytes.size() + 256));
  const std::string id_c(43, 'C');
  auto a = std::make_shared<const StoredSession>(bytes);
  auto b = std::make_shared<const StoredSession>(bytes);
  auto c = std::make_shared<const StoredSession>(bytes);
  cache.Remember(kIdA, Sha256(kIdA), a);
  cache.Remember(kIdB, Sha256(kIdB), b);
  cache.Remember(id_c, Sha256(id_c), c);
  ShortBytes key;
  std::shared_ptr<const StoredSession> seen;
  ASSERT_TRUE(cache.Find(kIdA, key, &seen));
  EXPECT_EQ(seen, a);
  ASSERT_TRUE(cache.Find(kIdB, key, &seen));
  EXPECT_EQ(seen, b);
  ASSERT_TRUE(cache.Find(id_c, key, &seen)) << "past the budget the key is still kept";
  EXPECT_EQ(key, Sha256(id_c));
  EXPECT_EQ(seen, nullptr);
  // A's slot lets go of its record: there is room for C's again.
  cache.Remember(kIdA, Sha256(kIdA), nullptr);
  cache.Remember(id_c, Sha256(id_c), c);
  ASSERT_TRUE(cache.Find(id_c, key, &seen));
  EXPECT_EQ(seen, c);
  // Replacing a slot's record with its own newer one counts the old one out first.
  auto b2 = std::make_shared<const StoredSession>(bytes);
  cache.Remember(kIdB, Sha256(kIdB), b2);
  ASSERT_TRUE(cache.Find(kIdB, key, &seen));
  EXPECT_EQ(seen, b2);
}

TEST(SessionKeyCache, OverlongAndEmptyIdsAreNotKept) {
  testing::FakeRandom random;
  SessionKeyCache cache(64, random);
  const std::string long_id(SessionKeyCache::kMaxIdSize + 1, 'x');
  cache.Remember(long_id, Sha256(long_id));
  cache.Remember("", Sha256(""));
  ShortBytes key;
  EXPECT_FALSE(cache.Find(long_id, key));
  EXPECT_FALSE(cache.Find("", key));
}

TEST(SessionKeyCache, AKeyOfTheWrongSizeIsNotKept) {
  testing::FakeRandom random;
  SessionKeyCache cache(64, random);
  cache.Remember(kIdA, "short");
  ShortBytes key;
  EXPECT_FALSE(cache.Find(kIdA, key));
}

TEST(SessionKeyCache, DrawsItsSlotKeyOnFirstUseNotBeforeAndOnlyOnce) {
  testing::FakeRandom random;
  SessionKeyCache cache(64, random);
  EXPECT_EQ(random.calls(), 0) << "a cache built before httpd forks has no key yet";
  ShortBytes key;
  cache.Find(kIdA, key);
  EXPECT_EQ(random.calls(), 1);
  cache.Remember(kIdA, Sha256(kIdA));
  cache.Find(kIdA, key);
  EXPECT_EQ(random.calls(), 1);
}

TEST(SessionKeyCache, KeepsNothingWhenTheGeneratorFails) {
  testing::FakeRandom random;
  random.set_fail(true);
  SessionKeyCache cache(64, random);
  cache.Remember(kIdA, Sha256(kIdA));
  ShortBytes key;
  EXPECT_FALSE(cache.Find(kIdA, key));
}

TEST(SessionKeyCache, ThreadsOnlyEverSeeTheKeyOfTheIdTheyAskFor) {
  testing::FakeRandom random;
  SessionKeyCache cache(8, random);  // small, so threads overwrite each other's slots
  std::vector<std::string> ids;
  for (int i = 0; i < 32; ++i) {
    ids.push_back(kIdA.substr(0, 40) + std::to_string(100 + i));
  }
  std::vector<std::string> keys;
  for (const auto& id : ids) {
    keys.push_back(Sha256(id));
  }
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ShortBytes key;
      for (int round = 0; round < 2000; ++round) {
        const size_t i = (round * 7 + t) % ids.size();
        if (cache.Find(ids[i], key)) {
          wrong[t] += key != keys[i] ? 1 : 0;
        } else {
          cache.Remember(ids[i], keys[i]);
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  for (int w : wrong) {
    EXPECT_EQ(w, 0);
  }
}

}  // namespace
}  // namespace coinpay
