// The default SharedStore: a fixed-size hash table with LRU eviction in one shared memory region,
// used by every httpd child at once and kept across `apachectl graceful`.
//
//   auto region = ShmRegion::Create(s->process->pool, ShmStore::RegionSize(10000, 4096));
//   auto store = ShmStore::Create(region->base(), region->size(), 10000, 4096);
//   ... after a graceful restart, with the same region:
//   auto store = ShmStore::Attach(region->base(), region->size());
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/shared_store.h"

// Forward declarations keep APR's headers out of everything that includes this one.
struct apr_pool_t;

namespace coinpay {

// An anonymous apr_shm segment (shared with children forked after its creation). The segment
// belongs to `pool`: it is destroyed when the pool is cleared, not when this object goes away.
class ShmRegion {
 public:
  static Result<ShmRegion> Create(apr_pool_t* pool, size_t size);

  void* base() const { return base_; }
  size_t size() const { return size_; }

 private:
  ShmRegion(void* base, size_t size) : base_(base), size_(size) {}

  void* base_;
  size_t size_;
};

// The table lives entirely inside the caller's region and refers to its parts by index, never by
// pointer, so processes that map the region at different addresses share it. A robust,
// process-shared pthread mutex in the region guards it; it is held only while bytes are copied.
class ShmStore final : public SharedStore {
 public:
  static constexpr size_t kMaxKeyBytes = 64;
  // Bounds that keep every index and size within 32 bits.
  static constexpr size_t kMaxCapacity = size_t{1} << 24;
  static constexpr size_t kMaxEntryBytes = size_t{16} << 20;

  struct Stats {
    size_t capacity = 0;
    size_t entry_size = 0;
    size_t live_entries = 0;        // slots holding a value (some may have expired, unseen yet)
    uint64_t evictions = 0;         // live entries pushed out to make room
    uint64_t expired_reclaims = 0;  // expired entries dropped on Get or reused by Put
    uint64_t lock_recoveries = 0;   // deaths while holding the lock, each followed by a rebuild
  };

  // Bytes a region needs for `capacity` entries of up to `entry_size` value bytes each;
  // 0 when the geometry is out of bounds.
  static size_t RegionSize(size_t capacity, size_t entry_size);

  // Initialises the region (header, mutex, empty table), discarding whatever it held.
  // `base` must be 8-byte aligned and `size` at least RegionSize(capacity, entry_size).
  static Result<std::unique_ptr<ShmStore>> Create(void* base, size_t size, size_t capacity,
                                                  size_t entry_size);
  // Uses a region initialised earlier by Create (in this or another process); kConfig when the
  // region does not carry a table of this version and of a geometry that fits `size`.
  static Result<std::unique_ptr<ShmStore>> Attach(void* base, size_t size);

  ShmStore(const ShmStore&) = delete;
  ShmStore& operator=(const ShmStore&) = delete;

  // Keys are 1..kMaxKeyBytes bytes (kBadInput otherwise). When every slot is in use, a new key
  // takes the least recently used slot.
  Status Put(std::string_view key, std::string_view value, int64_t expires_at) override;
  Result<std::optional<Entry>> Get(std::string_view key, int64_t now) override;
  // Versions come from one counter per region, so a key erased and written again never shows a
  // version it had before.
  Result<bool> PutIfVersion(std::string_view key, std::string_view value, int64_t expires_at,
                            uint64_t version, int64_t now) override;
  // Erasing an absent key succeeds: the caller wanted it gone and it is.
  Status Erase(std::string_view key) override;
  // Check and store happen under one lock, so exactly one process wins. Like any entry, an added
  // one can be evicted when the table is full of more recently used entries.
  Result<bool> Add(std::string_view key, std::string_view value, int64_t expires_at,
                   int64_t now) override;
  Status EraseIfEquals(std::string_view key, std::string_view expected) override;
  Result<bool> Exists(std::string_view key, int64_t now) override;
  // A set is one entry: its members, each prefixed by its length, oldest first, read and
  // rewritten under the lock.
  Status SetAdd(std::string_view key, std::string_view member, int64_t expires_at) override;
  Result<std::vector<std::string>> SetMembers(std::string_view key, int64_t now) override;
  Status SetRemove(std::string_view key, const std::vector<std::string>& members) override;

  Result<Stats> GetStats();
  // Walks every link of the table and checks its invariants; kStoreUnavailable names the first
  // one broken. For tests and diagnostics; O(capacity) under the lock.
  Status Verify();

  size_t capacity() const { return capacity_; }
  size_t entry_size() const { return entry_size_; }

  // Test hooks. LockForTesting takes the lock and returns without releasing it, so a test
  // process can die holding it. The mid-write hook runs inside Put while a slot is half written.
  Status LockForTesting();
  void SetMidWriteHookForTesting(std::function<void()> hook) { mid_write_hook_ = std::move(hook); }

 private:
  struct Header;
  struct Slot;
  class Lock;

  ShmStore(void* base, size_t capacity, size_t entry_size);

  Slot* SlotAt(uint32_t index) const;
  uint32_t BucketOf(uint64_t hash) const;
  uint64_t HashKey(std::string_view key) const;
  uint32_t FindLocked(std::string_view key, uint64_t hash) const;
  // Runs change(index, hash) under the lock when `key` has a slot; nothing (and success) when
  // it has none or could never have been stored. Erase, EraseIfEquals and SetRemove share it.
  template <typename Change>
  Status ChangeSlotIfPresent(std::string_view key, Change&& change);
  // The live slot of `key` at `now` (an expired one is reclaimed), or kNil.
  uint32_t FindLiveLocked(std::string_view key, uint64_t hash, int64_t now);
  void UnlinkFromBucketLocked(uint32_t index);
  void UnlinkFromLruLocked(uint32_t index);
  void PushLruFrontLocked(uint32_t index);
  void TouchLocked(uint32_t index);
  void FreeSlotLocked(uint32_t index);
  uint32_t TakeSlotLocked();
  Status CheckSizes(std::string_view key, std::string_view value) const;
  void WriteLocked(uint32_t index, bool is_new, std::string_view key, uint64_t hash,
                   std::string_view value, int64_t expires_at);
  void RebuildLocked();
  Status VerifyLocked() const;

  Header* header_;
  uint32_t* buckets_;
  unsigned char* slots_;
  size_t capacity_;
  size_t entry_size_;
  size_t slot_stride_;
  std::function<void()> mid_write_hook_;
};

}  // namespace coinpay
