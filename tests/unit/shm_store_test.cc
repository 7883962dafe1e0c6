// ShmStore on an mmap(MAP_SHARED) region: table behaviour in one process, then several
// forked processes at once, and recovery when a process dies holding the lock.
#include "platform/shm_store.h"

#include "core/dpop_proof.h"
#include "fakes.h"
#include "shm_mapping.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace coinpay {
namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr int64_t kLater = kNow + 3600;

using coinpay::testing::RunInChild;
using coinpay::testing::SharedMapping;
using coinpay::testing::WaitForExitCode;

class ShmSessionStoreTest : public coinpay::testing::ShmStoreFixture {
 protected:
  std::optional<std::string> GetValue(std::string_view key, int64_t now = kNow) {
    return ShmStoreFixture::GetValue(key, now);
  }

  // The version `key` holds in `store` (the fixture's by default); 0 when absent.
  uint64_t VersionAt(std::string_view key, int64_t now = kNow, SharedStore* store = nullptr) {
    auto got = (store != nullptr ? store : store_.get())->Get(key, now);
    EXPECT_TRUE(got.ok() && got->has_value()) << key << " is absent";
    return got.ok() && got->has_value() ? (*got)->version : 0;
  }

  bool CompareAndSet(std::string_view key, std::string_view value, uint64_t version,
                     int64_t now = kNow, SharedStore* store = nullptr) {
    auto put =
        (store != nullptr ? store : store_.get())->PutIfVersion(key, value, kLater, version, now);
    EXPECT_TRUE(put.ok()) << put.error().detail;
    return put.ok() && put.value();
  }

  std::vector<std::string> Members(std::string_view key, int64_t now = kNow) {
    auto got = store_->SetMembers(key, now);
    EXPECT_TRUE(got.ok()) << got.error().detail;
    return got.ok() ? got.value() : std::vector<std::string>{};
  }
};

TEST(ShmStore, RegionSizeRejectsOutOfBoundsGeometry) {
  EXPECT_EQ(ShmStore::RegionSize(0, 100), 0u);
  EXPECT_EQ(ShmStore::RegionSize(10, 0), 0u);
  EXPECT_EQ(ShmStore::RegionSize(ShmStore::kMaxCapacity + 1, 100), 0u);
  EXPECT_EQ(ShmStore::RegionSize(10, ShmStore::kMaxEntryBytes + 1), 0u);
  EXPECT_GT(ShmStore::RegionSize(10, 100), 10u * 100u);
}

TEST(ShmStore, CreateRefusesARegionTooSmall) {
  SharedMapping mapping(4096);
  auto store = ShmStore::Create(mapping.base(), mapping.size(), 1000, 4096);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.code(), Errc::kConfig);
}

TEST_F(ShmSessionStoreTest, PutThenGetReturnsTheValue) {
  MakeStore(16, 256);
  ASSERT_TRUE(store_->Put("session-a", "record a", kLater).ok());
  EXPECT_EQ(GetValue("session-a"), "record a");
  EXPECT_EQ(GetValue("session-b"), std::nullopt);
  EXPECT_EQ(GetStats().live_entries, 1u);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, GetIfChangedAnswersUnchangedWhileTheVersionIsCurrent) {
  MakeStore(16, 1024, 8192);
  const std::string record(600, 'r');  // in blocks, not the slot
  ASSERT_TRUE(store_->Put("s", record, kLater).ok());
  const uint64_t v = VersionAt("s");
  auto same = store_->GetIfChanged("s", kNow, v);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->unchanged);
  EXPECT_FALSE(same->entry.has_value());  // nothing copied out
  // A write elsewhere: the new value and its version, as Get gives them.
  ASSERT_TRUE(CompareAndSet("s", "touched", v));
  auto changed = store_->GetIfChanged("s", kNow, v);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(changed->unchanged);
  ASSERT_TRUE(changed->entry.has_value());
  EXPECT_EQ(changed->entry->value, "touched");
  EXPECT_EQ(changed->entry->version, VersionAt("s"));
  EXPECT_NE(changed->entry->version, v);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, GetIfChangedSeesAnErasedExpiredOrRewrittenKeyAsChanged) {
  MakeStore(16, 256);
  ASSERT_TRUE(store_->Put("gone", "v", kLater).ok());
  const uint64_t gone = VersionAt("gone");
  ASSERT_TRUE(store_->Erase("gone").ok());
  auto erased = store_->GetIfChanged("gone", kNow, gone);
  ASSERT_TRUE(erased.ok());
  EXPECT_FALSE(erased->unchanged);
  EXPECT_FALSE(erased->entry.has_value());
  // Written again with the same bytes: a new version, so not the copy the caller holds.
  ASSERT_TRUE(store_->Put("gone", "v", kLater).ok());
  auto rewritten = store_->GetIfChanged("gone", kNow, gone);
  ASSERT_TRUE(rewritten.ok());
  EXPECT_FALSE(rewritten->unchanged);
  ASSERT_TRUE(rewritten->entry.has_value());
  EXPECT_EQ(rewritten->entry->value, "v");
  ASSERT_TRUE(store_->Put("short", "v", kNow + 10).ok());
  auto expired = store_->GetIfChanged("short", kNow + 10, VersionAt("short"));
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired->unchanged);
  EXPECT_FALSE(expired->entry.has_value());
  auto bad_key = store_->GetIfChanged("", kNow, 1);
  ASSERT_TRUE(bad_key.ok());
  EXPECT_FALSE(bad_key->unchanged);
  EXPECT_FALSE(bad_key->entry.has_value());
}

TEST_F(ShmSessionStoreTest, GetIfChangedKeepsAnUnchangedEntryFromEviction) {
  MakeStore(2, 64);
  ASSERT_TRUE(store_->Put("old", "1", kLater).ok());
  const uint64_t v = VersionAt("old");
  ASSERT_TRUE(store_->Put("new", "2", kLater).ok());  // now the most recently used
  auto same = store_->GetIfChanged("old", kNow, v);
  ASSERT_TRUE(same.ok() && same->unchanged);
  ASSERT_TRUE(store_->Put("newest", "3", kLater).ok());  // evicts the least recently used
  EXPECT_EQ(GetValue("old"), "1");
  EXPECT_EQ(GetValue("new"), std::nullopt);
}

TEST_F(ShmSessionStoreTest, StoresEmptyAndBinaryValuesExactly) {
  MakeStore(4, 64);
  std::string binary("\0\x01\xff zero\0inside", 15);
  ASSERT_TRUE(store_->Put("empty", "", kLater).ok());
  ASSERT_TRUE(store_->Put("binary", binary, kLater).ok());
  EXPECT_EQ(GetValue("empty"), "");
  EXPECT_EQ(GetValue("binary"), binary);
}

TEST_F(ShmSessionStoreTest, PutReplacesTheValueOfAnExistingKey) {
  MakeStore(4, 64);
  ASSERT_TRUE(store_->Put("k", "a longer first value", kLater).ok());
  ASSERT_TRUE(store_->Put("k", "short", kLater).ok());
  EXPECT_EQ(GetValue("k"), "short");
  EXPECT_EQ(GetStats().live_entries, 1u);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, EraseRemovesTheKeyAndIsIdempotent) {
  MakeStore(4, 64);
  ASSERT_TRUE(store_->Put("k", "v", kLater).ok());
  ASSERT_TRUE(store_->Put("other", "w", kLater).ok());
  EXPECT_TRUE(store_->Erase("k").ok());
  EXPECT_EQ(GetValue("k"), std::nullopt);
  EXPECT_TRUE(store_->Erase("k").ok());
  EXPECT_TRUE(store_->Erase("never-stored").ok());
  EXPECT_EQ(GetValue("other"), "w");
  EXPECT_EQ(GetStats().live_entries, 1u);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, ExpiredEntryIsAbsentAndItsSlotIsReused) {
  MakeStore(2, 64);
  ASSERT_TRUE(store_->Put("short-lived", "v", kNow + 10).ok());
  EXPECT_EQ(GetValue("short-lived", kNow + 9), "v");
  EXPECT_EQ(GetValue("short-lived", kNow + 10), std::nullopt);  // expires_at is exclusive
  EXPECT_EQ(GetValue("short-lived", kNow + 9), std::nullopt);   // dropped, not hidden
  auto stats = GetStats();
  EXPECT_EQ(stats.live_entries, 0u);
  EXPECT_EQ(stats.expired_reclaims, 1u);
  // Both slots are free again: two new keys fit without evicting anything.
  ASSERT_TRUE(store_->Put("a", "1", kLater).ok());
  ASSERT_TRUE(store_->Put("b", "2", kLater).ok());
  EXPECT_EQ(GetStats().evictions, 0u);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, ReclaimingAnExpiredEntryWhenFullIsNotCountedAsAnEviction) {
  MakeStore(2, 64);
  ASSERT_TRUE(store_->Put("old", "v", kNow + 5).ok());
  ASSERT_TRUE(store_->Put("fresh", "v", kLater).ok());
  EXPECT_EQ(GetValue("fresh", kNow + 100), "v");  // time moves past "old"'s expiry
  ASSERT_TRUE(store_->Put("new", "v", kLater).ok());
  auto stats = GetStats();
  EXPECT_EQ(stats.evictions, 0u);
  EXPECT_EQ(stats.expired_reclaims, 1u);
  EXPECT_EQ(GetValue("fresh", kNow + 100), "v");
  EXPECT_EQ(GetValue("new", kNow + 100), "v");
}

TEST_F(ShmSessionStoreTest, EvictsLeastRecentlyUsedWhenFull) {
  MakeStore(3, 64);
  ASSERT_TRUE(store_->Put("a", "1", kLater).ok());
  ASSERT_TRUE(store_->Put("b", "2", kLater).ok());
  ASSERT_TRUE(store_->Put("c", "3", kLater).ok());
  ASSERT_TRUE(store_->Put("d", "4", kLater).ok());  // "a" is the oldest
  EXPECT_EQ(GetValue("a"), std::nullopt);
  EXPECT_EQ(GetValue("b"), "2");
  EXPECT_EQ(GetValue("c"), "3");
  EXPECT_EQ(GetValue("d"), "4");
  EXPECT_EQ(GetStats().evictions, 1u);
  EXPECT_EQ(GetStats().live_entries, 3u);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, GetRefreshesRecencySoTheEntryIsNotEvicted) {
  MakeStore(3, 64);
  ASSERT_TRUE(store_->Put("a", "1", kLater).ok());
  ASSERT_TRUE(store_->Put("b", "2", kLater).ok());
  ASSERT_TRUE(store_->Put("c", "3", kLater).ok());
  EXPECT_EQ(GetValue("a"), "1");                    // now "b" is the oldest
  ASSERT_TRUE(store_->Put("d", "4", kLater).ok());  // evicts "b"
  EXPECT_EQ(GetValue("b"), std::nullopt);
  ASSERT_TRUE(store_->Put("c", "3'", kLater).ok());  // a replacing Put refreshes too
  ASSERT_TRUE(store_->Put("e", "5", kLater).ok());   // evicts "a"
  EXPECT_EQ(GetValue("a"), std::nullopt);
  EXPECT_EQ(GetValue("c"), "3'");
  EXPECT_EQ(GetValue("d"), "4");
  EXPECT_EQ(GetValue("e"), "5");
  EXPECT_EQ(GetStats().evictions, 2u);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, ManyKeysInASmallTableCollideAndStayFindable) {
  // 512 slots over 512 buckets: by the birthday bound, chains of several slots are certain.
  constexpr int kKeys = 512;
  MakeStore(kKeys, 32);
  auto key = [](int i) { return "sid-hash-" + std::to_string(i); };
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(store_->Put(key(i), "v" + std::to_string(i), kLater).ok());
  }
  // Erasing every third key unlinks slots from the heads, middles and tails of chains.
  for (int i = 0; i < kKeys; i += 3) {
    ASSERT_TRUE(store_->Erase(key(i)).ok());
  }
  ExpectConsistent();
  for (int i = 0; i < kKeys; ++i) {
    auto expected = i % 3 == 0 ? std::nullopt : std::optional<std::string>("v" + std::to_string(i));
    EXPECT_EQ(GetValue(key(i)), expected) << key(i);
  }
  // Refill past capacity: churn through eviction with chains in place.
  for (int i = kKeys; i < 3 * kKeys; ++i) {
    ASSERT_TRUE(store_->Put(key(i), "v" + std::to_string(i), kLater).ok());
  }
  EXPECT_EQ(GetStats().live_entries, static_cast<size_t>(kKeys));
  for (int i = 2 * kKeys; i < 3 * kKeys; ++i) {
    EXPECT_EQ(GetValue(key(i)), "v" + std::to_string(i));
  }
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, OversizedValueIsStoreFullAndNamesTheSizes) {
  MakeStore(4, 100);
  ASSERT_TRUE(store_->Put("fits", std::string(100, 'x'), kLater).ok());
  Status st = store_->Put("too-big", std::string(101, 'x'), kLater);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::kStoreFull);
  EXPECT_NE(st.error().detail.find("101"), std::string::npos) << st.error().detail;
  EXPECT_NE(st.error().detail.find("100"), std::string::npos) << st.error().detail;
  EXPECT_EQ(GetValue("too-big"), std::nullopt);
  EXPECT_EQ(GetValue("fits"), std::string(100, 'x'));
}

TEST_F(ShmSessionStoreTest, KeyOutsideOneTo64BytesIsBadInput) {
  MakeStore(4, 16);
  EXPECT_EQ(store_->Put("", "v", kLater).code(), Errc::kBadInput);
  EXPECT_EQ(store_->Put(std::string(65, 'k'), "v", kLater).code(), Errc::kBadInput);
  EXPECT_TRUE(store_->Put(std::string(64, 'k'), "v", kLater).ok());
  EXPECT_EQ(GetValue(std::string(64, 'k')), "v");
}

TEST_F(ShmSessionStoreTest, AddStoresOnlyWhenTheKeyIsAbsentOrExpired) {
  MakeStore(4, 64);
  auto first = store_->Add("lock", "owner-1", kNow + 10, kNow);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first.value());
  auto second = store_->Add("lock", "owner-2", kNow + 10, kNow + 5);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second.value());
  EXPECT_EQ(GetValue("lock", kNow + 5), "owner-1");
  auto after_expiry = store_->Add("lock", "owner-3", kNow + 30, kNow + 10);
  ASSERT_TRUE(after_expiry.ok());
  EXPECT_TRUE(after_expiry.value());
  EXPECT_EQ(GetValue("lock", kNow + 10), "owner-3");
  EXPECT_EQ(store_->Add("lock", std::string(65, 'x'), kLater, kNow).code(), Errc::kStoreFull);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, EraseIfEqualsErasesOnlyTheExpectedValue) {
  MakeStore(4, 64);
  ASSERT_TRUE(store_->Put("lock", "owner-1", kLater).ok());
  EXPECT_TRUE(store_->EraseIfEquals("lock", "owner-2").ok());
  EXPECT_EQ(GetValue("lock"), "owner-1");
  EXPECT_TRUE(store_->EraseIfEquals("lock", "owner-").ok());  // a prefix is not equal
  EXPECT_EQ(GetValue("lock"), "owner-1");
  EXPECT_TRUE(store_->EraseIfEquals("lock", "owner-1").ok());
  EXPECT_EQ(GetValue("lock"), std::nullopt);
  EXPECT_TRUE(store_->EraseIfEquals("absent", "x").ok());
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, AttachSeesDataCreatedByCreate) {
  MakeStore(8, 64);
  ASSERT_TRUE(store_->Put("survives", "graceful", kLater).ok());
  auto attached = ShmStore::Attach(mapping_->base(), mapping_->size());
  ASSERT_TRUE(attached.ok()) << attached.error().detail;
  EXPECT_EQ((*attached)->capacity(), 8u);
  EXPECT_EQ((*attached)->entry_size(), 64u);
  auto got = (*attached)->Get("survives", kNow);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(coinpay::testing::ValueOf(got), "graceful");
  ASSERT_TRUE((*attached)->Put("from-attached", "x", kLater).ok());
  EXPECT_EQ(GetValue("from-attached"), "x");
}

TEST_F(ShmSessionStoreTest, AttachRefusesARegionWithWrongMagic) {
  MakeStore(8, 64);
  std::memset(mapping_->base(), 0x5a, 8);
  auto attached = ShmStore::Attach(mapping_->base(), mapping_->size());
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.code(), Errc::kConfig);
}

TEST(ShmStore, AttachRefusesAnUninitialisedRegion) {
  SharedMapping mapping(ShmStore::RegionSize(8, 64));
  auto attached = ShmStore::Attach(mapping.base(), mapping.size());
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.code(), Errc::kConfig);
}

TEST_F(ShmSessionStoreTest, AttachRefusesARegionSmallerThanItsGeometry) {
  MakeStore(8, 64);
  auto attached = ShmStore::Attach(mapping_->base(), mapping_->size() - 1);
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.code(), Errc::kConfig);
}

// Each child owns a key range and checks its own reads; all share a set of contended keys.
// Values carry their writer and a checksum so the parent can tell a torn value from a whole one.
std::string OwnKey(int child, int i) {
  return "c" + std::to_string(child) + "-" + std::to_string(i);
}

std::string WholeValue(int child, int i) {
  std::string v = "child=" + std::to_string(child) + ";i=" + std::to_string(i) + ";";
  v.append(static_cast<size_t>(i % 50), static_cast<char>('a' + child));
  return v + "#" + std::to_string(v.size());
}

bool IsWholeValue(const std::string& v) {
  size_t hash = v.rfind('#');
  return hash != std::string::npos && v.substr(hash + 1) == std::to_string(hash);
}

TEST_F(ShmSessionStoreTest, ForkedProcessesShareTheTableConsistently) {
  constexpr int kChildren = 4;
  constexpr int kOwnKeys = 300;
  constexpr int kSharedKeys = 20;
  constexpr int kRounds = 5;
  // Room for every owned key and every shared key, so nothing a child checks is evicted.
  MakeStore(kChildren * kOwnKeys + kSharedKeys, 128);

  std::vector<pid_t> pids;
  pids.reserve(kChildren);
  for (int c = 0; c < kChildren; ++c) {
    pids.push_back(RunInChild([this, c]() -> int {
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kOwnKeys; ++i) {
          if (!store_->Put(OwnKey(c, i), WholeValue(c, i + round), kLater).ok()) {
            return 10;
          }
          std::string shared = "shared-" + std::to_string(i % kSharedKeys);
          if (!store_->Put(shared, WholeValue(c, i), kLater).ok()) {
            return 11;
          }
          auto got = store_->Get(shared, kNow);
          if (!got.ok() || !got.value() || !IsWholeValue(got.value()->value)) {
            return 12;
          }
        }
        for (int i = 0; i < kOwnKeys; ++i) {
          auto got = store_->Get(OwnKey(c, i), kNow);
          if (!got.ok() || coinpay::testing::ValueOf(got) != WholeValue(c, i + round)) {
            return 13;
          }
          if (i % 2 == 1 && !store_->Erase(OwnKey(c, i)).ok()) {
            return 14;
          }
        }
      }
      return 0;
    }));
  }
  for (pid_t pid : pids) {
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitForExitCode(pid), 0) << "child " << pid << " saw a wrong value";
  }

  ExpectConsistent();
  auto stats = GetStats();
  EXPECT_EQ(stats.live_entries, static_cast<size_t>(kChildren * kOwnKeys / 2 + kSharedKeys));
  EXPECT_EQ(stats.evictions, 0u);
  for (int c = 0; c < kChildren; ++c) {
    for (int i = 0; i < kOwnKeys; ++i) {
      auto expected =
          i % 2 == 1 ? std::nullopt : std::optional<std::string>(WholeValue(c, i + kRounds - 1));
      EXPECT_EQ(GetValue(OwnKey(c, i)), expected);
    }
  }
  for (int s = 0; s < kSharedKeys; ++s) {
    auto got = GetValue("shared-" + std::to_string(s));
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(IsWholeValue(*got)) << *got;
  }
}

TEST_F(ShmSessionStoreTest, ForkedProcessesEvictingConcurrentlyKeepTheTableConsistent) {
  constexpr int kChildren = 4;
  constexpr size_t kCapacity = 64;
  MakeStore(kCapacity, 96);

  std::vector<pid_t> pids;
  pids.reserve(kChildren);
  for (int c = 0; c < kChildren; ++c) {
    pids.push_back(RunInChild([this, c]() -> int {
      for (int i = 0; i < 3000; ++i) {
        if (!store_->Put(OwnKey(c, i % 500), WholeValue(c, i), kLater).ok()) {
          return 10;
        }
        auto got = store_->Get(OwnKey(c, (i * 7) % 500), kNow);
        if (!got.ok() || (got.value() && !IsWholeValue(got.value()->value))) {
          return 12;
        }
        if (i % 5 == 0 && !store_->Erase(OwnKey(c, (i * 3) % 500)).ok()) {
          return 14;
        }
      }
      return 0;
    }));
  }
  for (pid_t pid : pids) {
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitForExitCode(pid), 0);
  }
  ExpectConsistent();
  auto stats = GetStats();
  EXPECT_LE(stats.live_entries, kCapacity);
  EXPECT_GT(stats.evictions, 0u);
}

TEST_F(ShmSessionStoreTest, ExactlyOneForkedProcessWinsAnAdd) {
  constexpr int kChildren = 6;
  constexpr int kKeys = 200;
  MakeStore(kKeys, 32);
  // Each child tries to Add every key and records the ones it won in its own result area.
  SharedMapping results(sizeof(uint8_t) * kChildren * kKeys);
  auto* won = static_cast<uint8_t*>(results.base());
  std::vector<pid_t> pids;
  pids.reserve(kChildren);
  for (int c = 0; c < kChildren; ++c) {
    pids.push_back(RunInChild([this, c, won]() -> int {
      for (int k = 0; k < kKeys; ++k) {
        auto added = store_->Add("refresh-lock-" + std::to_string(k), "owner-" + std::to_string(c),
                                 kLater, kNow);
        if (!added.ok()) {
          return 10;
        }
        won[c * kKeys + k] = added.value() ? 1 : 0;
      }
      return 0;
    }));
  }
  for (pid_t pid : pids) {
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitForExitCode(pid), 0);
  }
  for (int k = 0; k < kKeys; ++k) {
    int winners = 0;
    int winner = -1;
    for (int c = 0; c < kChildren; ++c) {
      if (won[c * kKeys + k] != 0) {
        winners++;
        winner = c;
      }
    }
    ASSERT_EQ(winners, 1) << "key " << k;
    EXPECT_EQ(GetValue("refresh-lock-" + std::to_string(k)), "owner-" + std::to_string(winner));
  }
  ExpectConsistent();
}

// A DPoP proof replayed to several httpd children at once is taken by one of them only.
TEST_F(ShmSessionStoreTest, ADPoPProofReplayedToSeveralChildrenIsTakenOnce) {
  constexpr int kChildren = 6;
  constexpr int kProofs = 50;
  MakeStore(kProofs * 2, 32);
  SharedMapping results(sizeof(uint8_t) * kChildren * kProofs);
  auto* fresh = static_cast<uint8_t*>(results.base());
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pids.push_back(RunInChild([this, fresh, c]() -> int {
      for (int p = 0; p < kProofs; ++p) {
        CheckedDPoPProof proof{"jti-" + std::to_string(p), std::string(43, 'K'), kNow};
        auto taken = RememberDPoPProof(*store_, proof, kNow);
        if (!taken.ok()) {
          return 10;
        }
        fresh[c * kProofs + p] = *taken ? 1 : 0;
      }
      return 0;
    }));
  }
  for (pid_t pid : pids) {
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitForExitCode(pid), 0);
  }
  for (int p = 0; p < kProofs; ++p) {
    int takers = 0;
    for (int c = 0; c < kChildren; ++c) {
      takers += fresh[c * kProofs + p];
    }
    EXPECT_EQ(takers, 1) << "proof " << p;
  }
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, SurvivesAProcessDyingWhileHoldingTheLock) {
  MakeStore(8, 64);
  ASSERT_TRUE(store_->Put("before", "still here", kLater).ok());
  pid_t pid = RunInChild([this]() -> int {
    if (!store_->LockForTesting().ok()) {
      return 1;
    }
    return 0;  // exits with the lock held
  });
  ASSERT_EQ(WaitForExitCode(pid), 0);

  EXPECT_EQ(GetValue("before"), "still here");
  ASSERT_TRUE(store_->Put("after", "works", kLater).ok());
  EXPECT_EQ(GetValue("after"), "works");
  EXPECT_EQ(GetStats().lock_recoveries, 1u);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, DropsTheHalfWrittenEntryOfAProcessThatDiedMidPut) {
  MakeStore(4, 64);
  ASSERT_TRUE(store_->Put("a", "1", kLater).ok());
  ASSERT_TRUE(store_->Put("victim", "old", kLater).ok());
  ASSERT_TRUE(store_->Put("b", "2", kLater).ok());
  pid_t pid = RunInChild([this]() -> int {
    store_->SetMidWriteHookForTesting([] { _exit(0); });
    (void)store_->Put("victim", "new value that never lands", kLater);
    return 1;  // the hook should have ended the process
  });
  ASSERT_EQ(WaitForExitCode(pid), 0);

  // Recovery rebuilt the recency order from the slots: "a" was used before "b", so once the
  // two free slots are taken, "a" is the one evicted.
  ASSERT_TRUE(store_->Put("c", "3", kLater).ok());
  ASSERT_TRUE(store_->Put("d", "4", kLater).ok());
  ASSERT_TRUE(store_->Put("e", "5", kLater).ok());
  EXPECT_EQ(GetStats().lock_recoveries, 1u);
  EXPECT_EQ(GetStats().evictions, 1u);
  EXPECT_EQ(GetValue("victim"), std::nullopt);
  EXPECT_EQ(GetValue("a"), std::nullopt);
  EXPECT_EQ(GetValue("b"), "2");
  EXPECT_EQ(GetValue("e"), "5");
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, RecoveryRebuildsTheWholeRecencyOrder) {
  // Slots are filled in one order and used in another (a permutation), so the rebuilt order
  // can only come from the slots' use stamps; 1000 is no power of two, so the merge runs of the
  // rebuild end unevenly.
  constexpr int kCount = 1000;
  MakeStore(kCount, 64);
  auto old_key = [](int i) { return "old-" + std::to_string(i); };
  auto used = [](int rank) { return rank * 617 % kCount; };  // 617 is prime to 1000
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(store_->Put(old_key(i), "v", kLater).ok());
  }
  for (int rank = 0; rank < kCount; ++rank) {
    ASSERT_EQ(GetValue(old_key(used(rank))), "v");
  }
  pid_t pid = RunInChild([this]() -> int { return store_->LockForTesting().ok() ? 0 : 1; });
  ASSERT_EQ(WaitForExitCode(pid), 0);

  // Each new key evicts the least recently used old one, in the order they were used. Asking
  // for an absent key changes no recency, so checking each victim disturbs nothing.
  for (int rank = 0; rank < kCount; ++rank) {
    ASSERT_TRUE(store_->Put("new-" + std::to_string(rank), "n", kLater).ok());
    ASSERT_EQ(GetValue(old_key(used(rank))), std::nullopt) << "eviction " << rank;
  }
  EXPECT_EQ(GetStats().lock_recoveries, 1u);
  EXPECT_EQ(GetStats().evictions, static_cast<uint64_t>(kCount));
  EXPECT_EQ(GetValue("new-0"), "n");
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, ThreadsOfOneProcessShareTheStore) {
  MakeStore(256, 128);
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t, &failures] {
      for (int i = 0; i < 2000; ++i) {
        std::string key = OwnKey(t, i % 50);
        if (!store_->Put(key, WholeValue(t, i), kLater).ok()) {
          failures++;
        }
        auto got = store_->Get(key, kNow);
        if (!got.ok() || coinpay::testing::ValueOf(got) != WholeValue(t, i)) {
          failures++;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures.load(), 0);
  ExpectConsistent();
}

// --- versions and compare-and-set -------------------------------------------------------------

TEST_F(ShmSessionStoreTest, PutIfVersionWritesOverTheVersionReadAndGivesANewVersion) {
  MakeStore(4, 64);
  ASSERT_TRUE(store_->Put("k", "first", kLater).ok());
  uint64_t read = VersionAt("k");
  EXPECT_NE(read, 0u);
  EXPECT_EQ(VersionAt("k"), read);  // reading does not change it
  EXPECT_TRUE(CompareAndSet("k", "second", read));
  EXPECT_EQ(GetValue("k"), "second");
  uint64_t written = VersionAt("k");
  EXPECT_GT(written, read);
  // The version it replaced is spent; the new one works.
  EXPECT_FALSE(CompareAndSet("k", "stale", read));
  EXPECT_TRUE(CompareAndSet("k", "third", written));
  EXPECT_EQ(GetValue("k"), "third");
  EXPECT_EQ(GetStats().live_entries, 1u);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, PutIfVersionKeepsTheNewExpiry) {
  MakeStore(4, 64);
  ASSERT_TRUE(store_->Put("k", "v", kNow + 10).ok());
  auto put = store_->PutIfVersion("k", "v2", kNow + 100, VersionAt("k"), kNow);
  ASSERT_TRUE(put.ok());
  EXPECT_TRUE(put.value());
  EXPECT_EQ(GetValue("k", kNow + 99), "v2");
  EXPECT_EQ(GetValue("k", kNow + 100), std::nullopt);
}

TEST_F(ShmSessionStoreTest, PutIfVersionFailsAfterAnotherWrite) {
  MakeStore(4, 64);
  ASSERT_TRUE(store_->Put("k", "v1", kLater).ok());
  uint64_t read = VersionAt("k");
  ASSERT_TRUE(store_->Put("k", "v2 written meanwhile", kLater).ok());
  EXPECT_FALSE(CompareAndSet("k", "v3", read));
  EXPECT_EQ(GetValue("k"), "v2 written meanwhile");

  // Two writers that read the same version: only the first lands.
  uint64_t shared_read = VersionAt("k");
  EXPECT_TRUE(CompareAndSet("k", "writer a", shared_read));
  EXPECT_FALSE(CompareAndSet("k", "writer b", shared_read));
  EXPECT_EQ(GetValue("k"), "writer a");
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, PutIfVersionFailsAfterEraseAndDoesNotRecreateTheKey) {
  MakeStore(4, 64);
  ASSERT_TRUE(store_->Put("k", "v1", kLater).ok());
  uint64_t read = VersionAt("k");
  ASSERT_TRUE(store_->Erase("k").ok());
  EXPECT_FALSE(CompareAndSet("k", "v2", read));
  EXPECT_EQ(GetValue("k"), std::nullopt);
  EXPECT_EQ(GetStats().live_entries, 0u);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, PutIfVersionFailsAfterExpiry) {
  MakeStore(4, 64);
  ASSERT_TRUE(store_->Put("k", "v1", kNow + 10).ok());
  uint64_t read = VersionAt("k", kNow);
  EXPECT_FALSE(CompareAndSet("k", "v2", read, kNow + 10));  // expires_at is exclusive
  EXPECT_EQ(GetValue("k", kNow), std::nullopt);             // and it stays gone
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, PutIfVersionFailsForAnAbsentKey) {
  MakeStore(4, 64);
  ASSERT_TRUE(store_->Put("other", "v", kLater).ok());
  uint64_t other = VersionAt("other");
  EXPECT_FALSE(CompareAndSet("absent", "v", 0));
  EXPECT_FALSE(CompareAndSet("absent", "v", other));
  EXPECT_EQ(GetValue("absent"), std::nullopt);
  EXPECT_EQ(GetStats().live_entries, 1u);
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, KeyErasedAndWrittenAgainNeverShowsAnOldVersion) {
  MakeStore(2, 64);
  ASSERT_TRUE(store_->Put("k", "same", kLater).ok());
  uint64_t first = VersionAt("k");
  ASSERT_TRUE(store_->Erase("k").ok());
  ASSERT_TRUE(store_->Put("k", "same", kLater).ok());
  uint64_t second = VersionAt("k");
  EXPECT_GT(second, first);
  EXPECT_FALSE(CompareAndSet("k", "stale", first));

  // Evicted and written again, or expired and re-added: new versions as well.
  ASSERT_TRUE(store_->Put("a", "1", kLater).ok());
  ASSERT_TRUE(store_->Put("b", "2", kLater).ok());  // evicts "k"
  ASSERT_EQ(GetValue("k"), std::nullopt);
  ASSERT_TRUE(store_->Put("k", "same", kLater).ok());
  uint64_t third = VersionAt("k");
  EXPECT_GT(third, second);
  EXPECT_FALSE(CompareAndSet("k", "stale", second));

  ASSERT_TRUE(store_->Put("lock", "owner", kNow + 5).ok());
  uint64_t held = VersionAt("lock");
  auto readded = store_->Add("lock", "owner", kNow + 50, kNow + 5);
  ASSERT_TRUE(readded.ok());
  ASSERT_TRUE(readded.value());
  EXPECT_GT(VersionAt("lock", kNow + 5), held);
  EXPECT_FALSE(CompareAndSet("lock", "stale", held, kNow + 5));
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, EveryKindOfWriteGivesAHigherVersion) {
  MakeStore(8, 128);
  std::vector<uint64_t> seen;
  ASSERT_TRUE(store_->Put("k", "v", kLater).ok());
  seen.push_back(VersionAt("k"));
  ASSERT_TRUE(CompareAndSet("k", "v", seen.back()));  // same bytes, still a write
  seen.push_back(VersionAt("k"));
  ASSERT_TRUE(store_->Put("k", "v", kLater).ok());
  seen.push_back(VersionAt("k"));
  ASSERT_TRUE(store_->Add("lock", "owner", kLater, kNow).ok());
  seen.push_back(VersionAt("lock"));
  ASSERT_TRUE(store_->SetAdd("index", "m1", kLater).ok());
  seen.push_back(VersionAt("index"));
  ASSERT_TRUE(store_->SetAdd("index", "m2", kLater).ok());
  seen.push_back(VersionAt("index"));
  ASSERT_TRUE(store_->SetRemove("index", {"m1"}).ok());
  seen.push_back(VersionAt("index"));
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GT(seen[i], seen[i - 1]) << "write " << i;
  }
}

TEST_F(ShmSessionStoreTest, VersionsSurviveAttachAndKeepGrowing) {
  MakeStore(8, 64);
  ASSERT_TRUE(store_->Put("a", "1", kLater).ok());
  ASSERT_TRUE(store_->Put("b", "2", kLater).ok());
  ASSERT_TRUE(store_->Put("erased", "3", kLater).ok());
  uint64_t a = VersionAt("a");
  uint64_t highest = VersionAt("erased");
  ASSERT_TRUE(store_->Erase("erased").ok());

  // apachectl graceful: the new generation attaches to the same region.
  auto attached = ShmStore::Attach(mapping_->base(), mapping_->size());
  ASSERT_TRUE(attached.ok()) << attached.error().detail;
  ShmStore* after = attached.value().get();
  EXPECT_EQ(VersionAt("a", kNow, after), a);
  // A request that read before the restart still writes after it.
  EXPECT_TRUE(CompareAndSet("a", "1'", a, kNow, after));
  EXPECT_GT(VersionAt("a", kNow, after), highest);
  ASSERT_TRUE(after->Put("erased", "3", kLater).ok());
  EXPECT_GT(VersionAt("erased", kNow, after), highest);
}

TEST_F(ShmSessionStoreTest, VersionsSurviveLockRecoveryWithoutGoingBackwards) {
  MakeStore(8, 64);
  ASSERT_TRUE(store_->Put("a", "1", kLater).ok());
  ASSERT_TRUE(store_->Put("b", "2", kLater).ok());
  ASSERT_TRUE(store_->Put("erased", "3", kLater).ok());
  uint64_t a = VersionAt("a");
  uint64_t b = VersionAt("b");
  // The highest version handed out belongs to no live entry when the table is rebuilt.
  uint64_t highest = VersionAt("erased");
  ASSERT_TRUE(store_->Erase("erased").ok());
  pid_t pid = RunInChild([this]() -> int { return store_->LockForTesting().ok() ? 0 : 1; });
  ASSERT_EQ(WaitForExitCode(pid), 0);

  EXPECT_EQ(VersionAt("a"), a);
  EXPECT_EQ(GetStats().lock_recoveries, 1u);
  EXPECT_EQ(VersionAt("b"), b);
  EXPECT_TRUE(CompareAndSet("a", "1'", a));
  EXPECT_GT(VersionAt("a"), highest);
  ASSERT_TRUE(store_->Put("erased", "3", kLater).ok());
  EXPECT_GT(VersionAt("erased"), highest);
  EXPECT_FALSE(CompareAndSet("erased", "stale", highest));
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, CompareAndSetInterruptedByDeathLeavesNoEntryAnOldVersionMatches) {
  MakeStore(8, 64);
  ASSERT_TRUE(store_->Put("a", "1", kLater).ok());
  ASSERT_TRUE(store_->Put("victim", "old", kLater).ok());
  uint64_t victim = VersionAt("victim");
  uint64_t highest = victim;
  pid_t pid = RunInChild([this, victim]() -> int {
    store_->SetMidWriteHookForTesting([] { _exit(0); });
    (void)store_->PutIfVersion("victim", "never lands", kLater, victim, kNow);
    return 1;  // the hook should have ended the process
  });
  ASSERT_EQ(WaitForExitCode(pid), 0);

  // The half-written record was dropped; a writer holding its version cannot bring it back.
  EXPECT_FALSE(CompareAndSet("victim", "stale", victim));
  EXPECT_EQ(GetValue("victim"), std::nullopt);
  EXPECT_EQ(GetStats().lock_recoveries, 1u);
  ASSERT_TRUE(store_->Put("victim", "old", kLater).ok());
  EXPECT_GT(VersionAt("victim"), highest);
  EXPECT_EQ(GetValue("a"), "1");
  ExpectConsistent();
}

// --- sets: the back-channel logout index -------------------------------------------------------

TEST_F(ShmSessionStoreTest, SetAddKeepsEveryMemberAddedConcurrentlyByForkedProcesses) {
  constexpr int kChildren = 4;
  constexpr int kPerChild = 10;
  constexpr int kSets = 16;  // several sets, so the children collide on each of them many times
  static_assert(kChildren * kPerChild <= SharedStore::kMaxSetMembers);
  MakeStore(kSets + 4, 1024);
  // A start line, so the children add at the same time rather than one after another.
  SharedMapping gate(sizeof(std::atomic<int>));
  auto* ready = new (gate.base()) std::atomic<int>(0);

  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pids.push_back(RunInChild([this, c, ready]() -> int {
      ready->fetch_add(1);
      while (ready->load() < kChildren) {
      }
      for (int i = 0; i < kPerChild; ++i) {
        for (int s = 0; s < kSets; ++s) {
          std::string member = "sess-" + std::to_string(c) + "-" + std::to_string(i);
          if (!store_->SetAdd("index-" + std::to_string(s), member, kLater).ok()) {
            return 10;
          }
        }
      }
      return 0;
    }));
  }
  for (pid_t pid : pids) {
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitForExitCode(pid), 0);
  }
  for (int s = 0; s < kSets; ++s) {
    auto members = Members("index-" + std::to_string(s));
    std::sort(members.begin(), members.end());
    EXPECT_EQ(std::unique(members.begin(), members.end()), members.end());
    EXPECT_EQ(members.size(), static_cast<size_t>(kChildren * kPerChild)) << "set " << s;
  }
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, SetAddOfAnExistingMemberAddsNoSecondCopy) {
  MakeStore(4, 4096);
  ASSERT_TRUE(store_->SetAdd("index", "m1", kLater).ok());
  ASSERT_TRUE(store_->SetAdd("index", "m2", kLater).ok());
  ASSERT_TRUE(store_->SetAdd("index", "m1", kLater).ok());
  EXPECT_EQ(Members("index"), (std::vector<std::string>{"m1", "m2"}));
  // Nor does it make the member younger: "m1" is still the first to drop out.
  for (size_t i = 2; i < SharedStore::kMaxSetMembers; ++i) {
    ASSERT_TRUE(store_->SetAdd("index", "filler-" + std::to_string(i), kLater).ok());
  }
  ASSERT_EQ(Members("index").size(), SharedStore::kMaxSetMembers);
  ASSERT_TRUE(store_->SetAdd("index", "newest", kLater).ok());
  auto members = Members("index");
  EXPECT_EQ(std::count(members.begin(), members.end(), "m1"), 0);
  EXPECT_EQ(std::count(members.begin(), members.end(), "m2"), 1);
}

TEST_F(ShmSessionStoreTest, SetAddOfAnExistingMemberStillKeepsTheSetUntilTheLaterExpiry) {
  MakeStore(4, 256);
  ASSERT_TRUE(store_->SetAdd("index", "m1", kNow + 10).ok());
  ASSERT_TRUE(store_->SetAdd("index", "m1", kNow + 100).ok());
  EXPECT_EQ(Members("index", kNow + 50), (std::vector<std::string>{"m1"}));
}

TEST_F(ShmSessionStoreTest, OldestMemberDropsOutPastMaxSetMembers) {
  MakeStore(4, 4096);
  auto member = [](size_t i) { return "member-" + std::to_string(i); };
  for (size_t i = 0; i <= SharedStore::kMaxSetMembers; ++i) {
    ASSERT_TRUE(store_->SetAdd("index", member(i), kLater).ok());
  }
  auto members = Members("index");
  ASSERT_EQ(members.size(), SharedStore::kMaxSetMembers);
  EXPECT_EQ(std::count(members.begin(), members.end(), member(0)), 0);
  for (size_t i = 1; i <= SharedStore::kMaxSetMembers; ++i) {
    EXPECT_EQ(std::count(members.begin(), members.end(), member(i)), 1) << member(i);
  }
}

TEST_F(ShmSessionStoreTest, OldestMembersDropOutWhenTheSetWouldNotFitTheEntry) {
  MakeStore(4, 64);
  // 20-byte members take 21 bytes each: three fit in 64.
  auto member = [](char c) { return std::string(20, c); };
  for (char c : {'a', 'b', 'c', 'd'}) {
    ASSERT_TRUE(store_->SetAdd("index", member(c), kLater).ok());
  }
  EXPECT_EQ(Members("index"), (std::vector<std::string>{member('b'), member('c'), member('d')}));
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, SetMembersKeepBinaryBytesAndMemberSizeIsChecked) {
  MakeStore(4, 1024);
  // Members are raw SHA-256 hashes of session ids: any byte, NUL included.
  const std::string binary("\0\x01\xff\0m", 5);
  const std::string longest(255, '\xff');
  ASSERT_TRUE(store_->SetAdd("index", binary, kLater).ok());
  ASSERT_TRUE(store_->SetAdd("index", longest, kLater).ok());
  EXPECT_EQ(Members("index"), (std::vector<std::string>{binary, longest}));
  EXPECT_EQ(store_->SetAdd("index", "", kLater).code(), Errc::kBadInput);
  EXPECT_EQ(store_->SetAdd("index", std::string(256, 'x'), kLater).code(), Errc::kBadInput);
  EXPECT_EQ(Members("index").size(), 2u);
}

TEST_F(ShmSessionStoreTest, SetRemoveRemovesOnlyTheNamedMembersAndAnEmptiedSetDisappears) {
  MakeStore(4, 1024);
  for (std::string_view m : {"m1", "m2", "m3", "m4"}) {
    ASSERT_TRUE(store_->SetAdd("index", m, kLater).ok());
  }
  ASSERT_TRUE(store_->SetRemove("index", {"m2", "m4", "not-a-member"}).ok());
  EXPECT_EQ(Members("index"), (std::vector<std::string>{"m1", "m3"}));
  ASSERT_TRUE(store_->SetRemove("index", {}).ok());
  EXPECT_EQ(Members("index"), (std::vector<std::string>{"m1", "m3"}));
  ASSERT_TRUE(store_->SetRemove("index", {"m1", "m3"}).ok());
  EXPECT_TRUE(Members("index").empty());
  EXPECT_EQ(GetValue("index"), std::nullopt);
  EXPECT_EQ(GetStats().live_entries, 0u);
  EXPECT_TRUE(store_->SetRemove("absent", {"m1"}).ok());
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, SetMembersOfAnAbsentOrExpiredSetIsEmpty) {
  MakeStore(4, 256);
  EXPECT_TRUE(Members("never-indexed").empty());
  ASSERT_TRUE(store_->SetAdd("index", "m1", kNow + 10).ok());
  EXPECT_EQ(Members("index", kNow + 9), (std::vector<std::string>{"m1"}));
  EXPECT_TRUE(Members("index", kNow + 10).empty());
  EXPECT_TRUE(Members("index", kNow + 9).empty());  // dropped, not hidden
  ExpectConsistent();
}

TEST_F(ShmSessionStoreTest, SetAddNeverShortensTheSetsLife) {
  MakeStore(4, 256);
  ASSERT_TRUE(store_->SetAdd("index", "m1", kNow + 100).ok());
  ASSERT_TRUE(store_->SetAdd("index", "m2", kNow + 10).ok());  // a shorter life asked for
  EXPECT_EQ(Members("index", kNow + 50), (std::vector<std::string>{"m1", "m2"}));
  ASSERT_TRUE(store_->SetAdd("index", "m3", kNow + 200).ok());  // a longer one
  EXPECT_EQ(Members("index", kNow + 150), (std::vector<std::string>{"m1", "m2", "m3"}));
  EXPECT_TRUE(Members("index", kNow + 200).empty());
}

TEST_F(ShmSessionStoreTest, SetRemoveKeepsTheSetsExpiry) {
  MakeStore(4, 256);
  ASSERT_TRUE(store_->SetAdd("index", "m1", kNow + 100).ok());
  ASSERT_TRUE(store_->SetAdd("index", "m2", kNow + 100).ok());
  ASSERT_TRUE(store_->SetRemove("index", {"m1"}).ok());
  EXPECT_EQ(Members("index", kNow + 99), (std::vector<std::string>{"m2"}));
  EXPECT_TRUE(Members("index", kNow + 100).empty());
}

}  // namespace
}  // namespace coinpay
