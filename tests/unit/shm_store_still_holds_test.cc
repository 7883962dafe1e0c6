// ShmStore::StillHolds, the lock-free revalidation of a connection's session: it confirms a
// place and version only while that very write is there, unexpired, and never once anything
// (a write, an erase, expiry, eviction, another key, a table made again, a writer's death)
// changed the slot.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "platform/shm_store.h"
#include "shm_mapping.h"

namespace coinpay {
namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr int64_t kLater = kNow + 3600;

using coinpay::testing::RunInChild;
using coinpay::testing::WaitForExitCode;

class ShmStillHoldsTest : public coinpay::testing::ShmStoreFixture {
 protected:
  struct Seen {
    uint64_t version = 0;
    uint64_t where = 0;
  };
  // Where `key` is kept and its version, as a reader learns them: Get, then a revalidation
  // (0, 0 when absent).
  Seen Read(std::string_view key, ShmStore* store = nullptr) {
    ShmStore* from = store != nullptr ? store : store_.get();
    auto got = from->Get(key, kNow);
    EXPECT_TRUE(got.ok());
    if (!got.ok() || !got->has_value()) {
      return {};
    }
    auto again = from->GetIfChanged(key, kNow, (*got)->version);
    EXPECT_TRUE(again.ok() && again->unchanged);
    return again.ok() ? Seen{(*got)->version, again->where} : Seen{};
  }
  bool StillHolds(const Seen& e, int64_t now = kNow, ShmStore* store = nullptr) {
    return (store != nullptr ? store : store_.get())->StillHolds(e.where, e.version, now);
  }
};

TEST_F(ShmStillHoldsTest, AnUnchangedEntryIsConfirmedWhileAnotherProcessHoldsTheLock) {
  MakeStore(16, 4096);
  ASSERT_TRUE(store_->Put("session", std::string(2000, 's'), kLater).ok());
  const Seen seen = Read("session");
  ASSERT_NE(seen.where, 0u);
  // The child takes the lock and keeps it: a revalidation that needed it would hang there
  // (the alarm ends it), so exit code 0 proves no lock was taken.
  pid_t pid = RunInChild([&]() -> int {
    if (!store_->LockForTesting().ok()) {
      return 2;
    }
    alarm(10);
    return store_->StillHolds(seen.where, seen.version, kNow) ? 0 : 1;
  });
  EXPECT_EQ(WaitForExitCode(pid), 0);
  EXPECT_TRUE(StillHolds(seen)) << "the dead child's lock is recovered; the entry is intact";
  ExpectConsistent();
}

TEST_F(ShmStillHoldsTest, AnErasedEntryIsNoLongerConfirmed) {
  MakeStore(16, 4096);
  ASSERT_TRUE(store_->Put("session", "record", kLater).ok());
  const Seen seen = Read("session");
  ASSERT_TRUE(StillHolds(seen));
  ASSERT_TRUE(store_->Erase("session").ok());
  EXPECT_FALSE(StillHolds(seen));
}

TEST_F(ShmStillHoldsTest, ARewrittenEntryIsConfirmedOnlyAtItsNewVersion) {
  MakeStore(16, 4096);
  ASSERT_TRUE(store_->Put("session", "record", kLater).ok());
  const Seen seen = Read("session");
  auto put = store_->PutIfVersion("session", "touched", kLater, seen.version, kNow);
  ASSERT_TRUE(put.ok() && *put);
  EXPECT_FALSE(StillHolds(seen));
  const Seen now = Read("session");
  EXPECT_EQ(now.where, seen.where) << "rewritten in place";
  EXPECT_TRUE(StillHolds(now));
  ASSERT_TRUE(store_->Put("session", "signed in again", kLater).ok());
  EXPECT_FALSE(StillHolds(now));
}

TEST_F(ShmStillHoldsTest, AnExpiredEntryIsNotConfirmed) {
  MakeStore(16, 4096);
  ASSERT_TRUE(store_->Put("session", "record", kNow + 10).ok());
  const Seen seen = Read("session");
  EXPECT_TRUE(StillHolds(seen, kNow + 9));
  EXPECT_FALSE(StillHolds(seen, kNow + 10));
}

TEST_F(ShmStillHoldsTest, ASlotReusedByAnotherKeyIsNotConfirmed) {
  MakeStore(16, 4096);
  ASSERT_TRUE(store_->Put("alice", "alice's record", kLater).ok());
  const Seen alice = Read("alice");
  ASSERT_TRUE(store_->Erase("alice").ok());
  ASSERT_TRUE(store_->Put("bob", "bob's record", kLater).ok());
  const Seen bob = Read("bob");
  ASSERT_EQ(bob.where, alice.where) << "the case this guards against: the freed slot reused";
  EXPECT_FALSE(StillHolds(alice));
  EXPECT_TRUE(StillHolds(bob));
}

TEST_F(ShmStillHoldsTest, AnEvictedEntryIsNotConfirmed) {
  MakeStore(2, 4096);
  ASSERT_TRUE(store_->Put("old", "record", kLater).ok());
  const Seen old = Read("old");
  ASSERT_TRUE(store_->Put("b", "1", kLater).ok());
  ASSERT_TRUE(store_->Put("c", "2", kLater).ok());  // the table is full: "old" goes
  EXPECT_EQ(GetStats().evictions, 1u);
  EXPECT_FALSE(StillHolds(old));
}

TEST_F(ShmStillHoldsTest, ATableMadeAgainOverTheRegionConfirmsNothingOfTheOldOne) {
  MakeStore(16, 4096);
  ASSERT_TRUE(store_->Put("alice", "alice's record", kLater).ok());
  const Seen alice = Read("alice");
  auto again = ShmStore::Create(mapping_->base(), mapping_->size(), 16, 4096);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(StillHolds(alice)) << "flushed";
  // The new table's first write takes the same slot; its versions continue the old clock.
  ASSERT_TRUE((*again)->Put("bob", "bob's record", kLater).ok());
  const Seen bob = Read("bob", again->get());
  ASSERT_EQ(bob.where, alice.where);
  EXPECT_GT(bob.version, alice.version);
  EXPECT_FALSE(StillHolds(alice));
  EXPECT_FALSE(StillHolds(alice, kNow, again->get()));
}

TEST_F(ShmStillHoldsTest, AWriteCutShortByItsWritersDeathIsNeverConfirmed) {
  MakeStore(16, 4096);
  ASSERT_TRUE(store_->Put("session", std::string(2000, 'a'), kLater).ok());
  const Seen seen = Read("session");
  pid_t pid = RunInChild([&]() -> int {
    store_->SetMidWriteHookForTesting([] { _exit(0); });
    (void)store_->PutIfVersion("session", std::string(2000, 'b'), kLater, seen.version, kNow);
    return 1;  // the hook should have ended the process
  });
  ASSERT_EQ(WaitForExitCode(pid), 0);
  EXPECT_FALSE(StillHolds(seen)) << "half overwritten, before any lock is recovered";
  EXPECT_FALSE(Read("session").version != 0) << "recovery dropped the torn slot";
  EXPECT_FALSE(StillHolds(seen));
  ExpectConsistent();
}

TEST_F(ShmStillHoldsTest, AnEntryInUseIsKeptFromEvictionOnceItFallsBehind) {
  // Capacity 4: marked used again once a quarter of the table (one use) behind.
  MakeStore(4, 4096);
  ASSERT_TRUE(store_->Put("hot", "record", kLater).ok());
  const Seen hot = Read("hot");
  for (const char* k : {"a", "b", "c"}) {
    ASSERT_TRUE(store_->Put(k, "x", kLater).ok());
  }
  ASSERT_TRUE(StillHolds(hot));                     // "hot" was the least recently used
  ASSERT_TRUE(store_->Put("d", "x", kLater).ok());  // full: the least recently used goes
  EXPECT_NE(Read("hot").version, 0u);
  auto a = store_->Get("a", kNow);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->has_value()) << "the oldest untouched entry was evicted instead";
  ExpectConsistent();
}

TEST_F(ShmStillHoldsTest, ReadersNeverConfirmAVersionAWriterHasReplacedOrErased) {
  MakeStore(8, 4096);
  // Every version below `gone_below` has been replaced or erased by a completed call (the
  // writer publishes it after the call returns); a reader that read it before asking must
  // never be told such a version is still there.
  std::atomic<uint64_t> gone_below{0};
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::thread writer([&] {
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(store_->Put("s", std::string(600 + i % 700, 'w'), kLater).ok());
      uint64_t v = Read("s").version;
      gone_below.store(v);
      auto put = store_->PutIfVersion("s", std::string(900, 't'), kLater, v, kNow);
      ASSERT_TRUE(put.ok() && *put);
      v = Read("s").version;
      gone_below.store(v);
      if (i % 2 == 0) {
        ASSERT_TRUE(store_->Erase("s").ok());
        gone_below.store(v + 1);
        ASSERT_TRUE(store_->Put("other" + std::to_string(i % 5), "x", kLater).ok());
      }
    }
    stop.store(true);
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto got = store_->Get("s", kNow);
        if (!got.ok() || !got->has_value()) {
          continue;
        }
        auto again = store_->GetIfChanged("s", kNow, (*got)->version);
        if (!again.ok() || !again->unchanged) {
          continue;
        }
        const Seen e{(*got)->version, again->where};
        for (int k = 0; k < 50; ++k) {
          const uint64_t gone = gone_below.load();
          if (store_->StillHolds(e.where, e.version, kNow) && e.version < gone) {
            wrong.fetch_add(1);
          }
        }
      }
    });
  }
  writer.join();
  for (auto& t : readers) {
    t.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  ASSERT_TRUE(store_->Put("s", "last", kLater).ok());
  EXPECT_TRUE(StillHolds(Read("s"))) << "and what is there is confirmed";
  ExpectConsistent();
}

}  // namespace
}  // namespace coinpay
