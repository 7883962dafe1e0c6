// ShmStore's value pool: values of every size round-trip, the pool running out evicts just
// enough least recently used entries, a writer that dies mid-chain leaves every block accounted
// for, and 100k signed-in users fit the memory the sizing rule gives them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fakes.h"
#include "platform/shm_store.h"
#include "shm_mapping.h"

namespace coinpay {
namespace {

using coinpay::testing::RunInChild;
using coinpay::testing::SharedMapping;
using coinpay::testing::WaitForExitCode;

constexpr int64_t kNow = 1'700'000'000;
constexpr int64_t kLater = kNow + 3600;
constexpr size_t kBlock = ShmStore::kBlockBytes;

// `n` bytes that differ with `seed` and with their position, binary bytes included.
std::string Bytes(size_t n, int seed) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<char>((i * 131 + static_cast<size_t>(seed) * 7 + (i >> 8)) & 0xff);
  }
  return out;
}

size_t BlocksOf(size_t n) { return n <= ShmStore::kInlineBytes ? 0 : (n + kBlock - 1) / kBlock; }

class ShmPoolTest : public coinpay::testing::ShmStoreFixture {
 protected:
  std::optional<std::string> GetValue(std::string_view key) {
    return ShmStoreFixture::GetValue(key, kNow);
  }

  // Dies with the lock held, so the next lock rebuilds the table and the pool.
  void ForceRecovery() {
    pid_t pid = RunInChild([this]() -> int { return store_->LockForTesting().ok() ? 0 : 1; });
    ASSERT_EQ(WaitForExitCode(pid), 0);
  }

  // The slot holding `key`, found by its bytes in the region (keys are unique in these tests).
  // White-box: a slot is 8 uint32 fields (first_block the 7th), 4 uint64 fields, then the key.
  unsigned char* SlotBytesOf(std::string_view key) {
    auto* base = static_cast<unsigned char*>(mapping_->base());
    unsigned char* end = base + mapping_->size() - key.size();
    for (unsigned char* p = base; p < end; ++p) {
      if (std::memcmp(p, key.data(), key.size()) == 0) {
        return p - 64;
      }
    }
    return nullptr;
  }
};

TEST(ShmPool, EntrySizeIsALimitNotAReservation) {
  // Today's default configuration: 10000 entries of up to 8192 bytes.
  size_t region = ShmStore::RegionSize(10000, 8192);
  EXPECT_LT(region, size_t{40} << 20) << "was 10000 x 8 KiB = 80 MiB";
  EXPECT_EQ(ShmStore::PoolBytes(10000, 8192, 0), 10000u * 3072u);
  EXPECT_GE(region, ShmStore::PoolBytes(10000, 8192, 0) + 10000u * 256u);
  // A tiny table still has room for one largest entry.
  EXPECT_EQ(ShmStore::PoolBytes(2, 8192, 0), 8192u);
  // A pool given in bytes is rounded up to whole blocks.
  EXPECT_EQ(ShmStore::PoolBytes(10, 8192, 10000), 10240u);
}

TEST(ShmPool, RegionSizeRefusesAPoolSmallerThanOneLargestEntry) {
  EXPECT_EQ(ShmStore::RegionSize(10, 8192, 4096), 0u);
  EXPECT_GT(ShmStore::RegionSize(10, 8192, 8192), 0u);
  EXPECT_EQ(ShmStore::RegionSize(10, 64, ShmStore::kMaxValueBytes + 1), 0u);
}

TEST_F(ShmPoolTest, ValuesOfEverySizeRoundTripAndRewritesInOtherSizesKeepTheBlocksCounted) {
  const std::vector<size_t> sizes = {0,    1,    127,  128,  129,  511,  512,  513,
                                     1023, 1024, 1025, 2500, 3000, 4095, 8191, 8192};
  MakeStore(64, 8192, 64 * 1024);
  size_t blocks = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(store_->Put("k" + std::to_string(i), Bytes(sizes[i], 1), kLater).ok());
    blocks += BlocksOf(sizes[i]);
  }
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(GetValue("k" + std::to_string(i)), Bytes(sizes[i], 1)) << sizes[i] << " bytes";
  }
  EXPECT_EQ(GetStats().value_bytes_used, blocks * kBlock);
  ExpectConsistent();

  // Each key rewritten with the size of another: grown, shrunk, moved in and out of its slot.
  blocks = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    size_t n = sizes[sizes.size() - 1 - i];
    ASSERT_TRUE(store_->Put("k" + std::to_string(i), Bytes(n, 2), kLater).ok());
    blocks += BlocksOf(n);
  }
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(GetValue("k" + std::to_string(i)), Bytes(sizes[sizes.size() - 1 - i], 2));
  }
  EXPECT_EQ(GetStats().value_bytes_used, blocks * kBlock);
  EXPECT_EQ(GetStats().evictions, 0u);
  ExpectConsistent();

  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(store_->Erase("k" + std::to_string(i)).ok());
  }
  EXPECT_EQ(GetStats().value_bytes_used, 0u) << "every block back in the pool";
  EXPECT_EQ(GetStats().value_bytes_capacity, 64u * 1024u);
  ExpectConsistent();
}

TEST_F(ShmPoolTest, ALargeValueComparedForEraseIfEqualsIsComparedWhole) {
  MakeStore(8, 4096, 8192);
  std::string value = Bytes(3000, 3);
  ASSERT_TRUE(store_->Put("k", value, kLater).ok());
  std::string other = value;
  other[2999] ^= 1;  // differs only in the last block
  ASSERT_TRUE(store_->EraseIfEquals("k", other).ok());
  EXPECT_EQ(GetValue("k"), value);
  ASSERT_TRUE(store_->EraseIfEquals("k", value).ok());
  EXPECT_EQ(GetValue("k"), std::nullopt);
  ExpectConsistent();
}

TEST_F(ShmPoolTest, APoolRunningOutEvictsOnlyAsManyLeastRecentlyUsedEntriesAsNeeded) {
  // 16 blocks; the table itself has room to spare, so only the pool forces evictions.
  MakeStore(64, 4096, 16 * kBlock);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(store_->Put("e" + std::to_string(i), Bytes(1000, i), kLater).ok());  // 2 blocks
  }
  EXPECT_EQ(GetStats().value_bytes_used, 16 * kBlock);
  ASSERT_EQ(GetValue("e0"), Bytes(1000, 0));  // e0 is now the most recently used

  ASSERT_TRUE(store_->Put("big", Bytes(1500, 9), kLater).ok());  // 3 blocks: e1 and e2 go
  EXPECT_EQ(GetStats().evictions, 2u);
  EXPECT_EQ(GetValue("e1"), std::nullopt);
  EXPECT_EQ(GetValue("e2"), std::nullopt);
  EXPECT_EQ(GetValue("e0"), Bytes(1000, 0));
  for (int i = 3; i < 8; ++i) {
    EXPECT_EQ(GetValue("e" + std::to_string(i)), Bytes(1000, i));
  }
  EXPECT_EQ(GetValue("big"), Bytes(1500, 9));
  EXPECT_EQ(GetStats().value_bytes_used, 15 * kBlock) << "one block left over, none evicted for it";

  // Small values stay in their slot and need no room in the pool.
  ASSERT_TRUE(store_->Put("small", "sid index", kLater).ok());
  EXPECT_EQ(GetStats().evictions, 2u);
  ExpectConsistent();
}

TEST_F(ShmPoolTest, AnExpiredEntryDroppedForRoomIsCountedAsExpiredNotEvicted) {
  MakeStore(64, 2048, 4 * kBlock);
  ASSERT_TRUE(store_->Put("stale", Bytes(2000, 1), kNow + 10).ok());  // 4 blocks
  ASSERT_TRUE(store_->Get("other", kNow + 20).ok());                  // time passes
  ASSERT_TRUE(store_->Put("fresh", Bytes(600, 2), kLater).ok());
  EXPECT_EQ(GetStats().evictions, 0u);
  EXPECT_EQ(GetStats().expired_reclaims, 1u);
  EXPECT_EQ(GetValue("fresh"), Bytes(600, 2));
  ExpectConsistent();
}

TEST_F(ShmPoolTest, AnIndexEntryThatHoldsNoBlocksIsNotEvictedToMakeRoomInThePool) {
  MakeStore(64, 2048, 4 * kBlock);
  ASSERT_TRUE(store_->Put("sub-index", "one member", kLater).ok());  // oldest, in its slot
  ASSERT_TRUE(store_->Put("record", Bytes(2000, 1), kLater).ok());   // 4 blocks: pool full
  ASSERT_TRUE(store_->Put("next", Bytes(1000, 2), kLater).ok());
  EXPECT_EQ(GetStats().evictions, 1u);
  EXPECT_EQ(GetValue("record"), std::nullopt);
  EXPECT_EQ(GetValue("sub-index"), "one member") << "dropping it would free no block";
  EXPECT_EQ(GetValue("next"), Bytes(1000, 2));
  ExpectConsistent();
}

TEST_F(ShmPoolTest, AnExpiredEntryGoesBeforeAnOlderLiveOneWhenThePoolIsFull) {
  MakeStore(64, 2048, 4 * kBlock);
  ASSERT_TRUE(store_->Put("live", Bytes(1000, 1), kLater).ok());      // 2 blocks, oldest
  ASSERT_TRUE(store_->Put("stale", Bytes(1000, 2), kNow + 10).ok());  // 2 blocks
  ASSERT_TRUE(store_->Get("other", kNow + 20).ok());                  // time passes
  ASSERT_TRUE(store_->Put("fresh", Bytes(1000, 3), kLater).ok());
  EXPECT_EQ(GetStats().evictions, 0u);
  EXPECT_EQ(GetStats().expired_reclaims, 1u);
  auto live = store_->Get("live", kNow + 20);
  EXPECT_EQ(coinpay::testing::ValueOf(live), Bytes(1000, 1));
  ExpectConsistent();
}

TEST_F(ShmPoolTest, AValueLargerThanTheEntrySizeIsRefusedAndEvictsNothing) {
  MakeStore(16, 2048, 8 * kBlock);
  ASSERT_TRUE(store_->Put("a", Bytes(2048, 1), kLater).ok());
  ASSERT_TRUE(store_->Put("b", Bytes(2048, 2), kLater).ok());
  Status st = store_->Put("c", Bytes(2049, 3), kLater);
  EXPECT_EQ(st.code(), Errc::kStoreFull);
  EXPECT_EQ(GetStats().evictions, 0u);
  EXPECT_EQ(GetValue("a"), Bytes(2048, 1));
  EXPECT_EQ(GetValue("b"), Bytes(2048, 2));
}

TEST_F(ShmPoolTest, AWriterDyingMidChainLeavesEveryBlockAccountedFor) {
  MakeStore(16, 8192, 24 * kBlock);
  ASSERT_TRUE(store_->Put("kept", Bytes(3000, 1), kLater).ok());    // 6 blocks
  ASSERT_TRUE(store_->Put("victim", Bytes(3000, 2), kLater).ok());  // 6 blocks
  ASSERT_TRUE(store_->Put("inline", "tiny", kLater).ok());
  pid_t pid = RunInChild([this]() -> int {
    store_->SetMidWriteHookForTesting([] { _exit(0); });
    // Rewritten larger: its old chain is freed, a new one taken and half copied when it dies.
    (void)store_->Put("victim", Bytes(5000, 3), kLater);
    return 1;
  });
  ASSERT_EQ(WaitForExitCode(pid), 0);

  EXPECT_EQ(GetValue("victim"), std::nullopt) << "a half-written value is never returned";
  EXPECT_EQ(GetValue("kept"), Bytes(3000, 1));
  EXPECT_EQ(GetValue("inline"), "tiny");
  EXPECT_EQ(GetStats().lock_recoveries, 1u);
  EXPECT_EQ(GetStats().value_bytes_used, 6 * kBlock) << "the dead writer's blocks are free again";
  ExpectConsistent();
  // And usable: the 18 free blocks take three more 6-block values without evicting anything.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store_->Put("more" + std::to_string(i), Bytes(3000, 10 + i), kLater).ok());
  }
  EXPECT_EQ(GetStats().evictions, 0u);
  EXPECT_EQ(GetStats().value_bytes_used, 24 * kBlock);
  EXPECT_EQ(GetValue("kept"), Bytes(3000, 1));
  ExpectConsistent();
}

TEST_F(ShmPoolTest, AWriterDyingAfterEvictingForRoomLosesOnlyWhatItEvicted) {
  MakeStore(16, 4096, 12 * kBlock);
  ASSERT_TRUE(store_->Put("oldest", Bytes(3000, 1), kLater).ok());  // 6 blocks
  ASSERT_TRUE(store_->Put("newest", Bytes(3000, 2), kLater).ok());  // 6 blocks: pool full
  pid_t pid = RunInChild([this]() -> int {
    store_->SetMidWriteHookForTesting([] { _exit(0); });
    (void)store_->Put("new", Bytes(2000, 3), kLater);  // evicts "oldest", then dies mid-chain
    return 1;
  });
  ASSERT_EQ(WaitForExitCode(pid), 0);

  EXPECT_EQ(GetValue("new"), std::nullopt);
  EXPECT_EQ(GetValue("oldest"), std::nullopt);
  EXPECT_EQ(GetValue("newest"), Bytes(3000, 2));
  EXPECT_EQ(GetStats().value_bytes_used, 6 * kBlock);
  ExpectConsistent();
}

TEST_F(ShmPoolTest, RecoveryDropsAnEntryWhoseChainIsOutOfRangeSharedOrTooShort) {
  MakeStore(16, 8192, 32 * kBlock);
  const std::string good = "good-key-0123456789";
  const std::string wild = "wild-key-0123456789";
  const std::string shared = "shared-key-0123456789";
  const std::string longer = "longer-key-0123456789";
  ASSERT_TRUE(store_->Put(good, Bytes(1500, 1), kLater).ok());
  ASSERT_TRUE(store_->Put(wild, Bytes(1500, 2), kLater).ok());
  ASSERT_TRUE(store_->Put(shared, Bytes(1500, 3), kLater).ok());
  ASSERT_TRUE(store_->Put(longer, Bytes(1500, 4), kLater).ok());
  unsigned char* good_slot = SlotBytesOf(good);
  unsigned char* wild_slot = SlotBytesOf(wild);
  unsigned char* shared_slot = SlotBytesOf(shared);
  unsigned char* longer_slot = SlotBytesOf(longer);
  ASSERT_TRUE(good_slot && wild_slot && shared_slot && longer_slot);
  constexpr size_t kFirstBlock = 6 * sizeof(uint32_t);
  constexpr size_t kValueLen = 2 * sizeof(uint32_t);
  // What a torn table could hold: a chain pointing outside the pool, one into another's chain
  // (slots are scanned from the last, so "good", in the lowest slot, is the one found second),
  // and a value length that needs more blocks than its chain has.
  uint32_t out_of_range = 1u << 30;
  std::memcpy(wild_slot + kFirstBlock, &out_of_range, sizeof(uint32_t));
  std::memcpy(good_slot + kFirstBlock, shared_slot + kFirstBlock, sizeof(uint32_t));
  uint32_t too_long = 2500;
  std::memcpy(longer_slot + kValueLen, &too_long, sizeof(uint32_t));
  ForceRecovery();

  EXPECT_EQ(GetValue(shared), Bytes(1500, 3));
  EXPECT_EQ(GetValue(good), std::nullopt);
  EXPECT_EQ(GetValue(wild), std::nullopt);
  EXPECT_EQ(GetValue(longer), std::nullopt);
  EXPECT_EQ(GetStats().value_bytes_used, 3 * kBlock);
  ExpectConsistent();
}

TEST_F(ShmPoolTest, VerifyFindsABlockCountedTwice) {
  MakeStore(16, 8192, 32 * kBlock);
  ASSERT_TRUE(store_->Put("first-key-0123456789", Bytes(1500, 1), kLater).ok());
  ASSERT_TRUE(store_->Put("second-key-0123456789", Bytes(1500, 2), kLater).ok());
  unsigned char* first = SlotBytesOf("first-key-0123456789");
  unsigned char* second = SlotBytesOf("second-key-0123456789");
  ASSERT_TRUE(first && second);
  std::memcpy(second + 6 * sizeof(uint32_t), first + 6 * sizeof(uint32_t), sizeof(uint32_t));
  Status verified = store_->Verify();
  ASSERT_FALSE(verified.ok());
  EXPECT_NE(verified.error().detail.find("pool inconsistent"), std::string::npos)
      << verified.error().detail;
}

TEST_F(ShmPoolTest, AttachRefusesARegionOfAnotherLayoutVersion) {
  MakeStore(16, 4096, 0);
  uint32_t old_version = 2;  // the fixed-slot layout: header's second field, after the magic
  std::memcpy(static_cast<unsigned char*>(mapping_->base()) + 8, &old_version, sizeof(uint32_t));
  auto attached = ShmStore::Attach(mapping_->base(), mapping_->size());
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.code(), Errc::kConfig);
  EXPECT_EQ(attached.error().detail,
            "session store region has layout version 2, this build uses 4");
}

TEST_F(ShmPoolTest, AttachSeesValuesInBlocksAndThePoolsSize) {
  MakeStore(16, 4096, 20 * kBlock);
  ASSERT_TRUE(store_->Put("k", Bytes(3000, 5), kLater).ok());
  auto attached = ShmStore::Attach(mapping_->base(), mapping_->size());
  ASSERT_TRUE(attached.ok()) << attached.error().detail;
  auto got = (*attached)->Get("k", kNow);
  EXPECT_EQ(coinpay::testing::ValueOf(got), Bytes(3000, 5));
  auto stats = (*attached)->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->value_bytes_capacity, 20 * kBlock);
  EXPECT_EQ(stats->region_bytes, ShmStore::RegionSize(16, 4096, 20 * kBlock));
}

// Issue 14's goal: 100k signed-in users (a session record with typical CoinPay tokens, a sid
// and a sub index entry each: the bench's 3n entries) in at most 512 MiB with the default entry
// size and the default pool of the capacity the user count needs.
TEST_F(ShmPoolTest, HundredThousandSignedInUsersFitInTheComputedSize) {
  constexpr size_t kUsers = 100'000;
  constexpr size_t kCapacity = 3 * kUsers;
  constexpr size_t kRecord = 2800;             // id, access and refresh tokens with claims
  constexpr size_t kPool = size_t{300} << 20;  // CoinpaySessionValueMemory 300, as docs/sessions.md
  size_t region = ShmStore::RegionSize(kCapacity, 8192, kPool);
  EXPECT_LE(region, size_t{512} << 20);
  MakeStore(kCapacity, 8192, kPool);
  const std::string record = Bytes(kRecord, 7);
  const std::string index_member(33, 'm');  // one 32-byte session key, length-prefixed
  for (size_t u = 0; u < kUsers; ++u) {
    std::string id = std::to_string(u);
    // Keys are 32-byte digests in real use; their length is what matters here.
    std::string key = "session-" + id + std::string(24 - std::min<size_t>(id.size(), 24), '.');
    ASSERT_TRUE(store_->Put(key, record, kLater).ok()) << u;
    ASSERT_TRUE(store_->Put("sid-" + id, index_member, kLater).ok());
    ASSERT_TRUE(store_->Put("sub-" + id, index_member, kLater).ok());
  }
  ShmStore::Stats st = GetStats();
  EXPECT_EQ(st.evictions, 0u);
  EXPECT_EQ(st.live_entries, kCapacity);
  EXPECT_EQ(st.value_bytes_used, kUsers * BlocksOf(kRecord) * kBlock);
  for (size_t u = 0; u < kUsers; u += 997) {
    std::string id = std::to_string(u);
    std::string key = "session-" + id + std::string(24 - std::min<size_t>(id.size(), 24), '.');
    ASSERT_EQ(GetValue(key), record) << u;
    ASSERT_EQ(GetValue("sub-" + id), index_member) << u;
  }
  ExpectConsistent();
  std::printf("[ memory   ] %zu users: region %zu MiB (%zu bytes a user)\n", kUsers, region >> 20,
              region / kUsers);
}

}  // namespace
}  // namespace coinpay
