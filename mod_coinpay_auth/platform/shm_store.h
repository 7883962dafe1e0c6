// The default SharedStore: a fixed-size hash table with LRU eviction in one shared memory region,
// used by every httpd child at once and kept across `apachectl graceful`. Small values live in
// their slot; larger ones in a chain of blocks from a pool in the same region, so memory follows
// the values' real sizes and the entry size is only a limit.
//
//   size_t size = ShmStore::RegionSize(10000, 8192, 16 << 20);  // 16 MiB of value blocks
//   auto region = ShmRegion::Create(s->process->pool, size);
//   auto store = ShmStore::Create(region->base(), region->size(), 10000, 8192, 16 << 20);
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
  // Values up to kInlineBytes stay in their slot; larger ones take ceil(size / kBlockBytes)
  // blocks. Sizes from the real values: a set index (a sid or sub naming its sessions' 32-byte
  // keys, 33 bytes a member), a replay marker or a refresh lock is under 128 bytes, so one slot
  // (with its 64-byte key and metadata) is 256 bytes, four cache lines, and needs no block; a
  // session record with typical CoinPay tokens is 2-3 KB, so 512-byte blocks waste about 10 % of
  // it on average and Get copies it in 5-6 steps (one, when the chain's blocks are adjacent).
  static constexpr size_t kInlineBytes = 128;
  static constexpr size_t kBlockBytes = 512;
  // Value bytes per entry when the pool's size is not given. Without back-channel logout a
  // signed-in user takes one entry, a 2-3 KB record: 3 KiB per entry keeps as many users as the
  // table has room for, as the fixed 8 KiB slots of earlier releases did, in 40 % of their
  // memory. With back-channel logout (3 entries a user) set CoinpaySessionValueMemory instead.
  static constexpr size_t kDefaultValueBytesPerEntry = 3072;
  // Block indices stay below 2^31 (the top bit marks blocks while they are counted).
  static constexpr size_t kMaxValueBytes = size_t{1} << 40;

  struct Stats {
    size_t capacity = 0;
    size_t entry_size = 0;
    size_t region_bytes = 0;          // the whole region: header, table and value pool
    size_t value_bytes_capacity = 0;  // the pool of value blocks
    size_t value_bytes_used = 0;    // blocks holding values (a slot's own value bytes not counted)
    size_t live_entries = 0;        // slots holding a value (some may have expired, unseen yet)
    uint64_t evictions = 0;         // live entries pushed out to make room
    uint64_t expired_reclaims = 0;  // expired entries dropped on Get or reused by Put
    uint64_t lock_recoveries = 0;   // deaths while holding the lock, each followed by a rebuild
  };

  // The value pool's bytes: `value_bytes` rounded up to whole blocks, or when it is 0 the
  // default, max(capacity x kDefaultValueBytesPerEntry, one largest entry).
  static size_t PoolBytes(size_t capacity, size_t entry_size, size_t value_bytes);
  // Bytes a region needs for `capacity` entries of up to `entry_size` value bytes each, sharing a
  // pool of PoolBytes(...) value bytes; 0 when the geometry is out of bounds or the pool cannot
  // hold one largest entry.
  static size_t RegionSize(size_t capacity, size_t entry_size, size_t value_bytes = 0);

  // Initialises the region (header, mutex, empty table), discarding whatever it held. `base`
  // must be 8-byte aligned and `size` at least RegionSize(capacity, entry_size, value_bytes).
  static Result<std::unique_ptr<ShmStore>> Create(void* base, size_t size, size_t capacity,
                                                  size_t entry_size, size_t value_bytes = 0);
  // Uses a region initialised earlier by Create (in this or another process); kConfig when the
  // region does not carry a table of this version and of a geometry that fits `size`.
  static Result<std::unique_ptr<ShmStore>> Attach(void* base, size_t size);

  ShmStore(const ShmStore&) = delete;
  ShmStore& operator=(const ShmStore&) = delete;

  // Keys are 1..kMaxKeyBytes bytes (kBadInput otherwise). When every slot is in use, a new key
  // takes the least recently used slot; when the pool has too few free blocks for the value,
  // least recently used entries are dropped until it has enough (among the 8 oldest, expired
  // ones first, then ones holding blocks: an entry kept in its slot frees nothing).
  Status Put(std::string_view key, std::string_view value, int64_t expires_at) override;
  Result<std::optional<Entry>> Get(std::string_view key, int64_t now) override;
  // The version is compared where the value lives: a caller whose copy is current gets
  // `unchanged` (the entry marked recently used) without a byte copied or allocated.
  Result<Revalidation> GetIfChanged(std::string_view key, int64_t now,
                                    uint64_t known_version) override;
  // Without the lock: the slot `where` names (GetIfChanged's `unchanged` answer gives it) still
  // holds the write that had `version`, unexpired at `now`. Versions come from one counter per
  // region and are never reused; every change of a slot's contents (write, erase, expiry, eviction,
  // recovery) clears its version before touching anything else and gives it a new one, if any,
  // only once the write is complete, in the same locked section. So a reader that sees its
  // version before and after reading the expiry knows the slot held that very write meanwhile.
  // The entry is marked recently used (under the lock) only once it has fallen a quarter of the
  // table behind the most recently used one: see TouchLag in shm_store.cc for what that changes
  // in the eviction order.
  bool StillHolds(uint64_t where, uint64_t version, int64_t now) override;
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
  // Walks every link of the table and the pool and checks their invariants (every block in
  // exactly one live chain of the right length or on the free list); kStoreUnavailable names
  // the first one broken. For tests and diagnostics; O(capacity + blocks) under the lock.
  Status Verify();

  size_t capacity() const { return capacity_; }
  size_t entry_size() const { return entry_size_; }

  // Test hooks. LockForTesting takes the lock and returns without releasing it, so a test
  // process can die holding it. The mid-write hook runs inside Put while a slot is half written:
  // for a value in blocks, after its chain is taken from the pool and half of it copied.
  Status LockForTesting();
  void SetMidWriteHookForTesting(std::function<void()> hook) { mid_write_hook_ = std::move(hook); }

 private:
  struct Header;
  struct Slot;
  class Lock;

  ShmStore(void* base, size_t capacity, size_t entry_size, size_t block_count);

  Slot* SlotAt(uint32_t index) const;
  unsigned char* BlockAt(uint32_t block) const;
  // The value of a live slot: appended to `out`, or compared with `expected`.
  void AppendValueLocked(const Slot* s, std::string& out) const;
  bool ValueEqualsLocked(const Slot* s, std::string_view expected) const;
  // The pool: chains leave and join the free list whole, in order, so a freed chain's blocks
  // stay adjacent for the next value of the same size.
  void FreeChainLocked(Slot* s);
  uint32_t TakeChainLocked(uint32_t blocks);
  // Drops entries other than `keep`, least recently used first (expired ones and ones holding
  // blocks preferred among the few oldest), until `blocks` blocks are free.
  void EnsureFreeBlocksLocked(uint32_t blocks, uint32_t keep);
  void DropForRoomLocked(uint32_t victim);
  // Marks each block of `s`'s chain; false (and nothing left marked) when the chain is out of
  // range, cyclic, shares a marked block or is not as long as the value needs.
  bool MarkChainLocked(const Slot* s);
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
  // Clears a slot's version before its contents change (StillHolds).
  void InvalidateLocked(uint32_t index);
  void FreeSlotLocked(uint32_t index);
  uint32_t TakeSlotLocked();
  Status CheckSizes(std::string_view key, std::string_view value) const;
  void WriteLocked(uint32_t index, bool is_new, std::string_view key, uint64_t hash,
                   std::string_view value, int64_t expires_at);
  void RebuildLocked();
  Status VerifyLocked();
  Status VerifyBlocksLocked();
  void ClearBlockMarksLocked();

  Header* header_;
  uint32_t* buckets_;
  unsigned char* slots_;
  uint32_t* block_links_;  // per block: the next block of its chain or of the free list
  unsigned char* blocks_;
  size_t capacity_;
  size_t entry_size_;
  size_t block_count_;
  uint64_t touch_lag_;  // StillHolds marks an entry used once this far behind (use_clock)
  std::function<void()> mid_write_hook_;
};

}  // namespace coinpay
