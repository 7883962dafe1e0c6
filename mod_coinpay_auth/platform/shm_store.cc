// The shared-memory session table: slots addressed by index, bucket chains for lookup, a doubly
// linked LRU list and a free list, and a pool of value blocks chained by index, all inside one
// region guarded by a robust pthread mutex.
//
// Region: Header | buckets | slots (256 bytes each) | block links (4 bytes a block) | blocks.
#include "platform/shm_store.h"

#include <apr_shm.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

namespace coinpay {
namespace {

// "CPASHM01" read as little-endian bytes; a region without it was never initialised by Create.
constexpr uint64_t kMagic = 0x31304d4853415043ULL;
// Bump whenever Header or Slot changes: Attach must not read a table laid out differently.
// 4: a slot's version is cleared whenever its contents change hands (StillHolds relies on it;
// a child of the previous release, still serving after a graceful restart, would not do it,
// so it must not share the table).
constexpr uint32_t kLayoutVersion = 4;
constexpr uint32_t kNil = 0xffffffffU;
// Block links: the end of a chain or of the free list. Block indices are below it, so the top
// bit is free to mark a block while RebuildLocked or Verify counts it.
constexpr uint32_t kNoBlock = 0x7fffffffU;
constexpr uint32_t kBlockMark = 0x80000000U;
constexpr size_t kMaxBlocks = kNoBlock - 1;
constexpr size_t kBlockAlign = 64;  // keeps the mutex, buckets and slots on their own cache lines
constexpr size_t kSlotBytes = 256;  // sizeof(Slot), checked where Slot is complete

enum SlotState : uint32_t {
  kFree = 0,
  // A slot being written: if its writer dies here, recovery drops it instead of trusting it.
  kWriting = 1,
  kLive = 2,
};

constexpr size_t AlignUp(size_t n, size_t align) { return (n + align - 1) / align * align; }

size_t BucketCountFor(size_t capacity) {
  size_t n = 1;
  while (n < capacity) {
    n <<= 1;
  }
  return n;
}

// Keeps the compiler from moving stores across a state change, so a process that dies mid-Put
// leaves the slot marked kWriting until its bytes are complete. No CPU fence is needed: the
// only observer of a dead writer's stores is a process that takes the mutex after it.
inline void StateBarrier() { std::atomic_signal_fence(std::memory_order_seq_cst); }

// Multiplies into 128 bits and folds: every input bit reaches many output bits in one step.
inline uint64_t FoldedMultiply(uint64_t a, uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t LoadWord(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

struct ShmStore::Header {
  uint64_t magic;
  uint32_t version;
  uint32_t header_size;
  uint64_t region_size;
  uint32_t capacity;
  uint32_t entry_size;
  uint32_t bucket_count;
  uint32_t slot_size;
  uint32_t inline_size;
  uint32_t block_size;
  uint32_t block_count;
  uint32_t reserved;
  uint64_t buckets_offset;
  uint64_t slots_offset;
  uint64_t block_links_offset;
  uint64_t blocks_offset;
  uint64_t mutex_size;
  // Random per region, so chosen keys cannot pile up in one bucket chain.
  uint64_t hash_seed;
  pthread_mutex_t mutex;
  // Everything below is guarded by `mutex`.
  uint32_t lru_head;  // most recently used
  uint32_t lru_tail;  // least recently used: the next eviction
  uint32_t free_head;
  uint32_t live;
  uint32_t free_block_head;
  uint32_t free_blocks;
  uint64_t use_clock;  // stamps slots on use, so recovery can rebuild the LRU order
  int64_t latest_now;  // the latest `now` seen by Get: tells an expired reclaim from an eviction
  uint64_t evictions;
  uint64_t expired_reclaims;
  uint64_t lock_recoveries;
  uint64_t version_clock;  // the last version handed out; versions are never reused
};

struct ShmStore::Slot {
  uint32_t state;
  uint32_t key_len;
  uint32_t value_len;
  uint32_t chain_next;  // next slot in the same bucket, or free-list successor when kFree
  uint32_t lru_prev;
  uint32_t lru_next;
  uint32_t first_block;  // the value's chain when value_len > kInlineBytes, else kNoBlock
  uint32_t reserved;
  uint64_t hash;
  int64_t expires_at;
  uint64_t last_used;
  uint64_t version;
  char key[kMaxKeyBytes];
  unsigned char inline_value[kInlineBytes];
};

namespace {
// The fields StillHolds reads without the lock (a slot's version, expires_at and last_used, the
// header's use_clock): every write to them goes through this, so none is a data race.
template <typename T>
std::atomic_ref<T> Shared(T& field) {
  static_assert(std::atomic_ref<T>::is_always_lock_free, "shared between processes");
  return std::atomic_ref<T>(field);
}

// How far behind the most recently used entry (in uses of the table) an entry read by
// StillHolds may fall before it is marked used again under the lock. Strict LRU moves it to the
// front on every read; this keeps it within the most recently used quarter of the table after
// every read instead, so an entry in use is evicted only after three quarters of the table (not
// the whole of it) were used since its last read, which only a table far too small for its
// traffic sees. In return a revalidation takes the lock about once per quarter table of uses.
uint64_t TouchLag(size_t capacity) { return std::max<uint64_t>(1, capacity / 4); }
}  // namespace
namespace {
// Blocks a value of `len` bytes takes: none when it fits its slot.
inline uint32_t BlocksFor(size_t len) {
  return len <= ShmStore::kInlineBytes
             ? 0
             : static_cast<uint32_t>((len + ShmStore::kBlockBytes - 1) / ShmStore::kBlockBytes);
}

struct Layout {
  size_t buckets;  // offsets from the region's base
  size_t slots;
  size_t block_links;
  size_t blocks;
  size_t total;
};

Layout LayoutFor(size_t header_size, size_t capacity, size_t block_count) {
  Layout l{};
  l.buckets = AlignUp(header_size, kBlockAlign);
  l.slots = l.buckets + AlignUp(BucketCountFor(capacity) * sizeof(uint32_t), kBlockAlign);
  l.block_links = l.slots + capacity * kSlotBytes;
  l.blocks = l.block_links + AlignUp(block_count * sizeof(uint32_t), kBlockAlign);
  l.total = l.blocks + block_count * ShmStore::kBlockBytes;
  return l;
}
}  // namespace

// Takes the region mutex; when its previous owner died holding it, marks it consistent and
// rebuilds the table from the slots, which is the only state a dead writer cannot leave torn.
class ShmStore::Lock {
 public:
  explicit Lock(ShmStore* store) : store_(store) {
    int rc = pthread_mutex_lock(&store_->header_->mutex);
    if (rc == EOWNERDEAD) {
      store_->RebuildLocked();
      store_->header_->lock_recoveries++;
      if (pthread_mutex_consistent(&store_->header_->mutex) != 0) {
        pthread_mutex_unlock(&store_->header_->mutex);
        status_ = Status(Errc::kStoreUnavailable, "session store mutex could not be recovered");
        return;
      }
      rc = 0;
    }
    if (rc != 0) {
      status_ = Status(Errc::kStoreUnavailable,
                       "session store mutex unusable: " + std::string(std::strerror(rc)));
      return;
    }
    held_ = true;
  }
  ~Lock() {
    if (held_) {
      pthread_mutex_unlock(&store_->header_->mutex);
    }
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  const Status& status() const { return status_; }
  // Leaves the mutex locked on purpose (LockForTesting).
  void Abandon() { held_ = false; }

 private:
  ShmStore* store_;
  bool held_ = false;
  Status status_ = OkStatus();
};

Result<ShmRegion> ShmRegion::Create(apr_pool_t* pool, size_t size) {
  if (pool == nullptr || size == 0) {
    return Result<ShmRegion>(Errc::kConfig, "shared memory: no pool or zero size");
  }
  apr_shm_t* shm = nullptr;
  apr_status_t rv = apr_shm_create(&shm, size, nullptr, pool);
  if (rv != APR_SUCCESS) {
    char buf[256];
    return Result<ShmRegion>(Errc::kConfig,
                             "apr_shm_create of " + std::to_string(size) +
                                 " bytes failed: " + apr_strerror(rv, buf, sizeof(buf)));
  }
  return ShmRegion(apr_shm_baseaddr_get(shm), apr_shm_size_get(shm));
}

size_t ShmStore::PoolBytes(size_t capacity, size_t entry_size, size_t value_bytes) {
  size_t want = value_bytes;
  if (want == 0) {
    want = std::max(std::min(capacity, kMaxCapacity) * kDefaultValueBytesPerEntry,
                    std::min(entry_size, kMaxEntryBytes));
  }
  return AlignUp(std::min(want, kMaxValueBytes), kBlockBytes);
}

size_t ShmStore::RegionSize(size_t capacity, size_t entry_size, size_t value_bytes) {
  if (capacity == 0 || capacity > kMaxCapacity || entry_size == 0 || entry_size > kMaxEntryBytes ||
      value_bytes > kMaxValueBytes) {
    return 0;
  }
  size_t blocks = PoolBytes(capacity, entry_size, value_bytes) / kBlockBytes;
  if (blocks > kMaxBlocks || blocks < std::max<size_t>(1, BlocksFor(entry_size))) {
    return 0;
  }
  // Bounds above keep this well inside 64 bits: 2^24 slots of 256 bytes and 2^40 pool bytes.
  return LayoutFor(sizeof(Header), capacity, blocks).total;
}

ShmStore::ShmStore(void* base, size_t capacity, size_t entry_size, size_t block_count)
    : header_(static_cast<Header*>(base)),
      capacity_(capacity),
      entry_size_(entry_size),
      block_count_(block_count),
      touch_lag_(TouchLag(capacity)) {
  static_assert(sizeof(Slot) == kSlotBytes, "a slot is four cache lines");
  auto* bytes = static_cast<unsigned char*>(base);
  Layout l = LayoutFor(sizeof(Header), capacity, block_count);
  buckets_ = reinterpret_cast<uint32_t*>(bytes + l.buckets);
  slots_ = bytes + l.slots;
  block_links_ = reinterpret_cast<uint32_t*>(bytes + l.block_links);
  blocks_ = bytes + l.blocks;
}

Result<std::unique_ptr<ShmStore>> ShmStore::Create(void* base, size_t size, size_t capacity,
                                                   size_t entry_size, size_t value_bytes) {
  using R = Result<std::unique_ptr<ShmStore>>;
  size_t need = RegionSize(capacity, entry_size, value_bytes);
  if (need == 0) {
    return R(Errc::kConfig, "session store geometry out of bounds: capacity " +
                                std::to_string(capacity) + " (1.." + std::to_string(kMaxCapacity) +
                                "), entry size " + std::to_string(entry_size) + " (1.." +
                                std::to_string(kMaxEntryBytes) + "), value pool of " +
                                std::to_string(value_bytes) +
                                " bytes (at least one entry, at most 2^40)");
  }
  if (base == nullptr || reinterpret_cast<uintptr_t>(base) % alignof(Header) != 0) {
    return R(Errc::kConfig, "session store region is null or misaligned");
  }
  if (size < need) {
    return R(Errc::kConfig, "session store region of " + std::to_string(size) +
                                " bytes is smaller than the " + std::to_string(need) + " needed");
  }

  size_t blocks = PoolBytes(capacity, entry_size, value_bytes) / kBlockBytes;
  std::unique_ptr<ShmStore> store(new ShmStore(base, capacity, entry_size, blocks));
  Header* h = store->header_;
  // A table made again over one of this layout continues its version clock: a version is
  // never handed out twice by the same memory, so a place and version read from the old table
  // (StillHolds) can never match the new one's.
  const uint64_t versions_from =
      h->magic == kMagic && h->version == kLayoutVersion ? h->version_clock : 0;
  // Clear the magic first: a process attaching while we initialise must be refused.
  h->magic = 0;
  StateBarrier();
  std::memset(static_cast<void*>(h), 0, sizeof(Header));
  h->version = kLayoutVersion;
  h->header_size = sizeof(Header);
  h->region_size = need;
  h->capacity = static_cast<uint32_t>(capacity);
  h->entry_size = static_cast<uint32_t>(entry_size);
  h->bucket_count = static_cast<uint32_t>(BucketCountFor(capacity));
  h->slot_size = sizeof(Slot);
  h->inline_size = kInlineBytes;
  h->block_size = kBlockBytes;
  h->block_count = static_cast<uint32_t>(blocks);
  Layout l = LayoutFor(sizeof(Header), capacity, blocks);
  h->buckets_offset = l.buckets;
  h->slots_offset = l.slots;
  h->block_links_offset = l.block_links;
  h->blocks_offset = l.blocks;
  h->mutex_size = sizeof(pthread_mutex_t);
  std::random_device rd;
  h->hash_seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();

  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  int rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (rc == 0) {
    rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  }
  if (rc == 0) {
    rc = pthread_mutex_init(&h->mutex, &attr);
  }
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) {
    return R(Errc::kStoreUnavailable,
             "session store mutex init failed: " + std::string(std::strerror(rc)));
  }

  // An empty table: RebuildLocked turns all-free slots into buckets, free list and LRU, and
  // unowned blocks into the pool's free list.
  for (size_t i = 0; i < capacity; ++i) {
    std::memset(static_cast<void*>(store->SlotAt(static_cast<uint32_t>(i))), 0, sizeof(Slot));
  }
  std::memset(static_cast<void*>(store->block_links_), 0, blocks * sizeof(uint32_t));
  store->RebuildLocked();
  h->version_clock = versions_from;
  StateBarrier();
  h->magic = kMagic;
  return R(std::move(store));
}

Result<std::unique_ptr<ShmStore>> ShmStore::Attach(void* base, size_t size) {
  using R = Result<std::unique_ptr<ShmStore>>;
  if (base == nullptr || reinterpret_cast<uintptr_t>(base) % alignof(Header) != 0 ||
      size < sizeof(Header)) {
    return R(Errc::kConfig, "session store region is null, misaligned or too small to attach");
  }
  const Header* h = static_cast<const Header*>(base);
  if (h->magic != kMagic) {
    return R(Errc::kConfig, "session store region holds no table (bad magic)");
  }
  if (h->version != kLayoutVersion || h->header_size != sizeof(Header) ||
      h->mutex_size != sizeof(pthread_mutex_t)) {
    return R(Errc::kConfig, "session store region has layout version " +
                                std::to_string(h->version) + ", this build uses " +
                                std::to_string(kLayoutVersion));
  }
  size_t capacity = h->capacity;
  size_t entry_size = h->entry_size;
  size_t blocks = h->block_count;
  size_t need = RegionSize(capacity, entry_size, blocks * kBlockBytes);
  if (need == 0 || h->region_size != need || need > size) {
    return R(Errc::kConfig, "session store region geometry (capacity " + std::to_string(capacity) +
                                ", entry size " + std::to_string(entry_size) + ", " +
                                std::to_string(blocks) + " value blocks) does not fit its " +
                                std::to_string(size) + " bytes");
  }
  Layout l = LayoutFor(sizeof(Header), capacity, blocks);
  if (h->bucket_count != BucketCountFor(capacity) || h->slot_size != sizeof(Slot) ||
      h->inline_size != kInlineBytes || h->block_size != kBlockBytes ||
      h->buckets_offset != l.buckets || h->slots_offset != l.slots ||
      h->block_links_offset != l.block_links || h->blocks_offset != l.blocks) {
    return R(Errc::kConfig, "session store region header is inconsistent");
  }
  return R(std::unique_ptr<ShmStore>(new ShmStore(base, capacity, entry_size, blocks)));
}

ShmStore::Slot* ShmStore::SlotAt(uint32_t index) const {
  return reinterpret_cast<Slot*>(slots_ + static_cast<size_t>(index) * sizeof(Slot));
}

unsigned char* ShmStore::BlockAt(uint32_t block) const {
  return blocks_ + static_cast<size_t>(block) * kBlockBytes;
}

uint32_t ShmStore::BucketOf(uint64_t hash) const {
  return static_cast<uint32_t>(hash & (header_->bucket_count - 1));
}

uint64_t ShmStore::HashKey(std::string_view key) const {
  // Eight bytes a step (keys are 32-byte digests, at most 64 bytes): each word is folded into a
  // state that starts from the region's random seed and the length, then a full-avalanche
  // finish so the low bits (the bucket) depend on every byte. Without the seed a chooser of
  // keys cannot aim them at one bucket chain.
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ULL;
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = header_->hash_seed ^ (n * 0xff51afd7ed558ccdULL);
  if (n >= 8) {
    for (; n > 8; p += 8, n -= 8) {
      h = FoldedMultiply(h ^ LoadWord(p), kMul);
    }
    // The last word may overlap the one before: the length in the seed tells keys apart.
    h = FoldedMultiply(h ^ LoadWord(p + n - 8), kMul);
  } else {
    uint64_t w = 0;
    for (size_t i = 0; i < n; ++i) {
      w |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    h = FoldedMultiply(h ^ w, kMul);
  }
  return SplitMix64(h);
}

uint32_t ShmStore::FindLocked(std::string_view key, uint64_t hash) const {
  uint32_t i = buckets_[BucketOf(hash)];
  while (i != kNil) {
    const Slot* s = SlotAt(i);
    if (s->hash == hash && s->key_len == key.size() &&
        std::memcmp(s->key, key.data(), key.size()) == 0) {
      return i;
    }
    i = s->chain_next;
  }
  return kNil;
}

void ShmStore::UnlinkFromBucketLocked(uint32_t index) {
  Slot* s = SlotAt(index);
  uint32_t* link = &buckets_[BucketOf(s->hash)];
  while (*link != kNil) {
    if (*link == index) {
      *link = s->chain_next;
      break;
    }
    link = &SlotAt(*link)->chain_next;
  }
  s->chain_next = kNil;
}

void ShmStore::UnlinkFromLruLocked(uint32_t index) {
  Slot* s = SlotAt(index);
  if (s->lru_prev != kNil) {
    SlotAt(s->lru_prev)->lru_next = s->lru_next;
  } else {
    header_->lru_head = s->lru_next;
  }
  if (s->lru_next != kNil) {
    SlotAt(s->lru_next)->lru_prev = s->lru_prev;
  } else {
    header_->lru_tail = s->lru_prev;
  }
  s->lru_prev = kNil;
  s->lru_next = kNil;
}

void ShmStore::PushLruFrontLocked(uint32_t index) {
  Slot* s = SlotAt(index);
  s->lru_prev = kNil;
  s->lru_next = header_->lru_head;
  if (header_->lru_head != kNil) {
    SlotAt(header_->lru_head)->lru_prev = index;
  } else {
    header_->lru_tail = index;
  }
  header_->lru_head = index;
}

void ShmStore::TouchLocked(uint32_t index) {
  const uint64_t used = header_->use_clock + 1;
  Shared(header_->use_clock).store(used, std::memory_order_relaxed);
  Shared(SlotAt(index)->last_used).store(used, std::memory_order_relaxed);
  if (header_->lru_head != index) {
    UnlinkFromLruLocked(index);
    PushLruFrontLocked(index);
  }
}

void ShmStore::InvalidateLocked(uint32_t index) {
  // The fence keeps every later store of this locked section (expires_at, a new version, the
  // value) from being seen before the cleared version: a reader that sees any of them sees the
  // version changed on its second look (StillHolds).
  Shared(SlotAt(index)->version).store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}

void ShmStore::FreeSlotLocked(uint32_t index) {
  InvalidateLocked(index);
  Slot* s = SlotAt(index);
  // Marked free before unlinking: recovery trusts states, never half-updated links.
  s->state = kFree;
  StateBarrier();
  UnlinkFromBucketLocked(index);
  UnlinkFromLruLocked(index);
  FreeChainLocked(s);
  s->key_len = 0;
  s->chain_next = header_->free_head;
  header_->free_head = index;
  header_->live--;
}

void ShmStore::FreeChainLocked(Slot* s) {
  uint32_t n = BlocksFor(s->value_len);
  s->value_len = 0;
  uint32_t first = s->first_block;
  s->first_block = kNoBlock;
  if (n == 0) {
    return;
  }
  // The chain joins the free list whole and in order; only its last link changes.
  uint32_t last = first;
  for (uint32_t i = 1; i < n; ++i) {
    last = block_links_[last];
  }
  block_links_[last] = header_->free_block_head;
  header_->free_block_head = first;
  header_->free_blocks += n;
}

uint32_t ShmStore::TakeChainLocked(uint32_t blocks) {
  // The first `blocks` of the free list are already linked in order: cut after the last.
  uint32_t first = header_->free_block_head;
  uint32_t last = first;
  for (uint32_t i = 1; i < blocks; ++i) {
    last = block_links_[last];
  }
  header_->free_block_head = block_links_[last];
  block_links_[last] = kNoBlock;
  header_->free_blocks -= blocks;
  return first;
}

void ShmStore::DropForRoomLocked(uint32_t victim) {
  if (SlotAt(victim)->expires_at <= header_->latest_now) {
    header_->expired_reclaims++;
  } else {
    header_->evictions++;
  }
  FreeSlotLocked(victim);
}

void ShmStore::EnsureFreeBlocksLocked(uint32_t blocks, uint32_t keep) {
  // Among the kRoomScan least recently used: an expired entry first, else the least recently
  // used one that holds blocks. An entry in its slot only (an index, a marker) frees nothing
  // for the pool, so it is dropped only when none of those holds blocks; the window keeps the
  // lock's hold short. `keep` was just touched, so it is the tail only when it is the last live
  // entry, and the pool always holds one largest entry.
  constexpr int kRoomScan = 8;
  while (header_->free_blocks < blocks) {
    uint32_t victim = kNil;
    uint32_t i = header_->lru_tail;
    for (int seen = 0; i != kNil && seen < kRoomScan; ++seen, i = SlotAt(i)->lru_prev) {
      const Slot* s = SlotAt(i);
      if (i == keep) {
        continue;
      }
      if (s->expires_at <= header_->latest_now) {
        victim = i;
        break;
      }
      if (victim == kNil && BlocksFor(s->value_len) > 0) {
        victim = i;
      }
    }
    if (victim == kNil) {
      victim = header_->lru_tail;
    }
    if (victim == kNil || victim == keep) {
      break;
    }
    DropForRoomLocked(victim);
  }
}

uint32_t ShmStore::TakeSlotLocked() {
  if (header_->free_head == kNil) {
    DropForRoomLocked(header_->lru_tail);
  }
  uint32_t index = header_->free_head;
  header_->free_head = SlotAt(index)->chain_next;
  header_->live++;
  return index;
}

void ShmStore::ClearBlockMarksLocked() {
  for (size_t b = 0; b < block_count_; ++b) {
    block_links_[b] &= ~kBlockMark;
  }
}

bool ShmStore::MarkChainLocked(const Slot* s) {
  uint32_t n = BlocksFor(s->value_len);
  if (n == 0) {
    return s->first_block == kNoBlock;
  }
  uint32_t b = s->first_block;
  uint32_t marked = 0;
  bool ok = true;
  for (; marked < n; ++marked) {
    if (b >= block_count_ || (block_links_[b] & kBlockMark) != 0) {
      ok = false;  // out of range, or a block seen before: cyclic or shared
      break;
    }
    block_links_[b] |= kBlockMark;
    b = block_links_[b] & ~kBlockMark;
  }
  ok = ok && b == kNoBlock;  // neither shorter nor longer than the value
  if (!ok) {
    // Unmark what this chain marked: the same `marked` steps from its start.
    b = s->first_block;
    for (uint32_t i = 0; i < marked; ++i) {
      block_links_[b] &= ~kBlockMark;
      b = block_links_[b];
    }
  }
  return ok;
}

// Runs with the recovered mutex held, so it allocates nothing (a std::bad_alloc here would leave
// every process waiting on the lock): the LRU list is rebuilt in place, then sorted by the
// slots' last_used stamps with a bottom-up merge sort on the list itself, O(n log n). The
// pool's free list is every block no kept slot's chain holds; a slot whose chain is torn (out of
// range, cyclic, shared with a slot kept before it, of the wrong length) is dropped.
void ShmStore::RebuildLocked() {
  Header* h = header_;
  for (uint32_t b = 0; b < h->bucket_count; ++b) {
    buckets_[b] = kNil;
  }
  h->lru_head = kNil;
  h->lru_tail = kNil;
  h->free_head = kNil;
  h->live = 0;
  // Marks left by a process that died while counting blocks mean nothing now.
  ClearBlockMarksLocked();

  // Live slots are first chained through lru_next in scan order (only lru_next until sorted).
  uint32_t list = kNil;
  uint32_t last = kNil;
  uint32_t live = 0;
  uint64_t max_used = 0;
  // Backwards, so the free list hands out low indices first (only cosmetic).
  for (uint32_t i = static_cast<uint32_t>(capacity_); i-- > 0;) {
    Slot* s = SlotAt(i);
    bool keep = s->state == kLive && s->key_len >= 1 && s->key_len <= kMaxKeyBytes &&
                s->value_len <= entry_size_;
    std::string_view key(s->key, keep ? s->key_len : 0);
    if (keep) {
      s->hash = HashKey(key);
      // A duplicate cannot happen; never trust one. The chain is checked last: it marks blocks.
      keep = FindLocked(key, s->hash) == kNil && MarkChainLocked(s);
    }
    s->lru_prev = kNil;
    s->lru_next = kNil;
    if (keep) {
      uint32_t b = BucketOf(s->hash);
      s->chain_next = buckets_[b];
      buckets_[b] = i;
      (last == kNil ? list : SlotAt(last)->lru_next) = i;
      last = i;
      ++live;
      max_used = std::max(max_used, s->last_used);
      h->version_clock = std::max(h->version_clock, s->version);
    } else {
      InvalidateLocked(i);  // a slot torn by a dead writer was cleared already; any other too
      s->state = kFree;
      s->key_len = 0;
      s->value_len = 0;
      s->first_block = kNoBlock;
      s->chain_next = h->free_head;
      h->free_head = i;
    }
  }

  // Blocks: the marked ones are held by kept chains; the rest, backwards so the free list runs
  // in ascending order and hands out adjacent blocks.
  h->free_block_head = kNoBlock;
  h->free_blocks = 0;
  for (size_t b = block_count_; b-- > 0;) {
    if ((block_links_[b] & kBlockMark) != 0) {
      block_links_[b] &= ~kBlockMark;
    } else {
      block_links_[b] = h->free_block_head;
      h->free_block_head = static_cast<uint32_t>(b);
      h->free_blocks++;
    }
  }

  // Most recently used first. Merging runs of `run` slots, doubling until one run is left; a
  // tie keeps the earlier slot first (stable), as the order of the scan above.
  auto next = [this](uint32_t index) -> uint32_t& { return SlotAt(index)->lru_next; };
  for (size_t run = 1; list != kNil; run *= 2) {
    uint32_t p = list;
    uint32_t tail = kNil;
    size_t merges = 0;
    list = kNil;
    while (p != kNil) {
      ++merges;
      uint32_t q = p;
      size_t p_size = 0;
      while (p_size < run && q != kNil) {
        ++p_size;
        q = next(q);
      }
      size_t q_size = run;
      while (p_size > 0 || (q_size > 0 && q != kNil)) {
        uint32_t e;
        bool take_p = q_size == 0 || q == kNil ||
                      (p_size > 0 && SlotAt(p)->last_used >= SlotAt(q)->last_used);
        if (take_p) {
          e = p;
          p = next(p);
          --p_size;
        } else {
          e = q;
          q = next(q);
          --q_size;
        }
        (tail == kNil ? list : next(tail)) = e;
        tail = e;
      }
      p = q;
    }
    next(tail) = kNil;
    if (merges <= 1) {
      break;
    }
  }
  uint32_t prev = kNil;
  for (uint32_t i = list; i != kNil; i = next(i)) {
    SlotAt(i)->lru_prev = prev;
    prev = i;
  }
  h->lru_head = list;
  h->lru_tail = prev;
  h->live = live;
  Shared(h->use_clock).store(std::max(h->use_clock, max_used), std::memory_order_relaxed);
}

Status ShmStore::CheckSizes(std::string_view key, std::string_view value) const {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return Status(Errc::kBadInput, "session store key of " + std::to_string(key.size()) +
                                       " bytes (must be 1.." + std::to_string(kMaxKeyBytes) + ")");
  }
  if (value.size() > entry_size_) {
    return Status(Errc::kStoreFull, "session record of " + std::to_string(value.size()) +
                                        " bytes exceeds the store's entry size of " +
                                        std::to_string(entry_size_) +
                                        " bytes; raise the entry size or store fewer claims");
  }
  return OkStatus();
}

// Everything between kWriting and kLive may be cut short by the writer's death: recovery then
// drops the slot and gives every block no live chain holds back to the pool.
void ShmStore::WriteLocked(uint32_t index, bool is_new, std::string_view key, uint64_t hash,
                           std::string_view value, int64_t expires_at) {
  InvalidateLocked(index);
  Slot* s = SlotAt(index);
  s->state = kWriting;
  StateBarrier();
  if (is_new) {
    s->key_len = static_cast<uint32_t>(key.size());
    std::memcpy(s->key, key.data(), key.size());
    s->hash = hash;
    s->value_len = 0;
    s->first_block = kNoBlock;
    uint32_t b = BucketOf(hash);
    s->chain_next = buckets_[b];
    buckets_[b] = index;
    PushLruFrontLocked(index);
  }
  // Most recently used before making room, so it is never the entry dropped for room.
  TouchLocked(index);
  FreeChainLocked(s);
  uint32_t blocks = BlocksFor(value.size());
  if (blocks == 0) {
    if (mid_write_hook_) {
      mid_write_hook_();
    }
    if (!value.empty()) {
      std::memcpy(s->inline_value, value.data(), value.size());
    }
  } else {
    EnsureFreeBlocksLocked(blocks, index);
    uint32_t b = TakeChainLocked(blocks);
    s->first_block = b;
    for (uint32_t i = 0; i < blocks; ++i) {
      if (i == blocks / 2 && mid_write_hook_) {
        mid_write_hook_();
      }
      size_t at = static_cast<size_t>(i) * kBlockBytes;
      std::memcpy(BlockAt(b), value.data() + at, std::min(kBlockBytes, value.size() - at));
      b = block_links_[b];
    }
  }
  s->value_len = static_cast<uint32_t>(value.size());
  Shared(s->expires_at).store(expires_at, std::memory_order_relaxed);
  // Last, released: a reader that sees the new version sees everything written before it.
  Shared(s->version).store(++header_->version_clock, std::memory_order_release);
  StateBarrier();
  s->state = kLive;
}

void ShmStore::AppendValueLocked(const Slot* s, std::string& out) const {
  size_t left = s->value_len;
  if (left <= kInlineBytes) {
    out.append(reinterpret_cast<const char*>(s->inline_value), left);
    return;
  }
  // Adjacent blocks (the usual case: chains are taken from and returned to the free list
  // whole) are copied in one step.
  uint32_t b = s->first_block;
  while (left > 0) {
    uint32_t run_start = b;
    size_t run = std::min(kBlockBytes, left);
    left -= run;
    b = block_links_[b];
    while (left > 0 && b == run_start + run / kBlockBytes) {
      size_t n = std::min(kBlockBytes, left);
      run += n;
      left -= n;
      b = block_links_[b];
    }
    out.append(reinterpret_cast<const char*>(BlockAt(run_start)), run);
  }
}

bool ShmStore::ValueEqualsLocked(const Slot* s, std::string_view expected) const {
  if (s->value_len != expected.size()) {
    return false;
  }
  if (expected.size() <= kInlineBytes) {
    return expected.empty() || std::memcmp(s->inline_value, expected.data(), expected.size()) == 0;
  }
  uint32_t b = s->first_block;
  for (size_t at = 0; at < expected.size(); at += kBlockBytes) {
    if (std::memcmp(BlockAt(b), expected.data() + at,
                    std::min(kBlockBytes, expected.size() - at)) != 0) {
      return false;
    }
    b = block_links_[b];
  }
  return true;
}

Status ShmStore::Put(std::string_view key, std::string_view value, int64_t expires_at) {
  if (Status st = CheckSizes(key, value); !st.ok()) {
    return st;
  }
  uint64_t hash = HashKey(key);
  Lock lock(this);
  if (!lock.status().ok()) {
    return lock.status();
  }
  uint32_t index = FindLocked(key, hash);
  bool is_new = index == kNil;
  if (is_new) {
    index = TakeSlotLocked();
  }
  WriteLocked(index, is_new, key, hash, value, expires_at);
  return OkStatus();
}

Result<bool> ShmStore::Add(std::string_view key, std::string_view value, int64_t expires_at,
                           int64_t now) {
  if (Status st = CheckSizes(key, value); !st.ok()) {
    return st.error();
  }
  uint64_t hash = HashKey(key);
  Lock lock(this);
  if (!lock.status().ok()) {
    return lock.status().error();
  }
  header_->latest_now = std::max(header_->latest_now, now);
  uint32_t index = FindLocked(key, hash);
  bool is_new = index == kNil;
  if (!is_new) {
    if (SlotAt(index)->expires_at > now) {
      return false;
    }
    header_->expired_reclaims++;  // the expired holder is overwritten in place
  } else {
    index = TakeSlotLocked();
  }
  WriteLocked(index, is_new, key, hash, value, expires_at);
  return true;
}

template <typename Change>
Status ShmStore::ChangeSlotIfPresent(std::string_view key, Change&& change) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return OkStatus();
  }
  uint64_t hash = HashKey(key);
  Lock lock(this);
  if (!lock.status().ok()) {
    return lock.status();
  }
  uint32_t index = FindLocked(key, hash);
  if (index != kNil) {
    change(index, hash);
  }
  return OkStatus();
}

Status ShmStore::EraseIfEquals(std::string_view key, std::string_view expected) {
  return ChangeSlotIfPresent(key, [&](uint32_t index, uint64_t /*hash*/) {
    if (ValueEqualsLocked(SlotAt(index), expected)) {
      FreeSlotLocked(index);
    }
  });
}

uint32_t ShmStore::FindLiveLocked(std::string_view key, uint64_t hash, int64_t now) {
  header_->latest_now = std::max(header_->latest_now, now);
  uint32_t index = FindLocked(key, hash);
  if (index != kNil && SlotAt(index)->expires_at <= now) {
    header_->expired_reclaims++;
    FreeSlotLocked(index);
    return kNil;
  }
  return index;
}

Result<bool> ShmStore::Exists(std::string_view key, int64_t now) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return false;
  }
  uint64_t hash = HashKey(key);
  Lock lock(this);
  if (!lock.status().ok()) {
    return lock.status().error();
  }
  return FindLiveLocked(key, hash, now) != kNil;
}

Result<std::optional<SharedStore::Entry>> ShmStore::Get(std::string_view key, int64_t now) {
  using R = Result<std::optional<Entry>>;
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return R(std::nullopt);  // could never have been stored
  }
  uint64_t hash = HashKey(key);
  // Capacity reserved before locking so the lock usually covers a copy, not an allocation: as
  // much as this thread's last read needed (a session record is far smaller than the entry
  // size, which reserving on every request cost an 8 KiB allocation for).
  thread_local size_t last_len = 0;
  Entry out;
  out.value.reserve(last_len);
  {
    Lock lock(this);
    if (!lock.status().ok()) {
      return R(lock.status().error());
    }
    uint32_t index = FindLiveLocked(key, hash, now);
    if (index == kNil) {
      return R(std::nullopt);
    }
    Slot* s = SlotAt(index);
    TouchLocked(index);
    AppendValueLocked(s, out.value);
    out.version = s->version;
  }
  last_len = out.value.size();
  return R(std::optional<Entry>(std::move(out)));
}

Result<SharedStore::Revalidation> ShmStore::GetIfChanged(std::string_view key, int64_t now,
                                                         uint64_t known_version) {
  using R = Result<Revalidation>;
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return R(Revalidation{});  // could never have been stored
  }
  uint64_t hash = HashKey(key);
  {
    Lock lock(this);
    if (!lock.status().ok()) {
      return R(lock.status().error());
    }
    uint32_t index = FindLiveLocked(key, hash, now);
    if (index == kNil) {
      return R(Revalidation{});
    }
    if (SlotAt(index)->version == known_version) {
      TouchLocked(index);
      return R(Revalidation{.unchanged = true, .where = index + 1, .entry = std::nullopt});
    }
  }
  // Changed: read it as Get does (its allocation outside the lock). Whatever a writer did in
  // between, Get's answer is as fresh as this call's.
  auto got = Get(key, now);
  if (!got) {
    return R(got.error());
  }
  return R(Revalidation{.entry = std::move(*got)});
}

bool ShmStore::StillHolds(uint64_t where, uint64_t version, int64_t now) {
  if (where == 0 || where > capacity_ || version == 0) {
    return false;  // not a place this store handed out, or a slot never written
  }
  const auto index = static_cast<uint32_t>(where - 1);
  Slot* s = SlotAt(index);
  // A seqlock read: the version, then the fields, then the version again. Versions are never
  // reused and every change clears the version first (InvalidateLocked), so the same version
  // twice means the expiry read between belongs to that very write.
  if (Shared(s->version).load(std::memory_order_acquire) != version) {
    return false;
  }
  const int64_t expires_at = Shared(s->expires_at).load(std::memory_order_relaxed);
  const uint64_t lag = Shared(header_->use_clock).load(std::memory_order_relaxed) -
                       Shared(s->last_used).load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (Shared(s->version).load(std::memory_order_relaxed) != version || expires_at <= now) {
    return false;  // changed, or expired: GetIfChanged reclaims it
  }
  if (lag < touch_lag_) {
    return true;
  }
  // Fallen behind (TouchLag): marked used under the lock, where the version is checked again.
  Lock lock(this);
  if (!lock.status().ok() || s->version != version || s->expires_at <= now) {
    return false;
  }
  TouchLocked(index);
  return true;
}

Result<bool> ShmStore::PutIfVersion(std::string_view key, std::string_view value,
                                    int64_t expires_at, uint64_t version, int64_t now) {
  if (Status st = CheckSizes(key, value); !st.ok()) {
    return st.error();
  }
  uint64_t hash = HashKey(key);
  Lock lock(this);
  if (!lock.status().ok()) {
    return lock.status().error();
  }
  uint32_t index = FindLiveLocked(key, hash, now);
  if (index == kNil || SlotAt(index)->version != version) {
    return false;
  }
  WriteLocked(index, false, key, hash, value, expires_at);
  return true;
}

namespace {
// A set's bytes: each member as one length byte and its bytes, oldest first.
std::vector<std::string> SplitMembers(std::string_view bytes) {
  std::vector<std::string> out;
  while (!bytes.empty()) {
    auto n = static_cast<unsigned char>(bytes[0]);
    if (n == 0 || bytes.size() < 1U + n) {
      break;  // never written so; stop rather than read past the value
    }
    out.emplace_back(bytes.substr(1, n));
    bytes.remove_prefix(1U + n);
  }
  return out;
}

std::string JoinMembers(const std::vector<std::string>& members) {
  std::string out;
  for (const auto& m : members) {
    out += static_cast<char>(m.size());
    out += m;
  }
  return out;
}
}  // namespace

Status ShmStore::SetAdd(std::string_view key, std::string_view member, int64_t expires_at) {
  if (member.empty() || member.size() > 255) {
    return Status(Errc::kBadInput,
                  "set member of " + std::to_string(member.size()) + " bytes (must be 1..255)");
  }
  if (Status st = CheckSizes(key, {}); !st.ok()) {
    return st;
  }
  uint64_t hash = HashKey(key);
  Lock lock(this);
  if (!lock.status().ok()) {
    return lock.status();
  }
  uint32_t index = FindLocked(key, hash);
  std::vector<std::string> members;
  int64_t keep_until = expires_at;
  if (index != kNil && SlotAt(index)->expires_at > header_->latest_now) {
    const Slot* s = SlotAt(index);
    std::string bytes;
    AppendValueLocked(s, bytes);
    members = SplitMembers(bytes);
    keep_until = std::max(keep_until, s->expires_at);
  }
  bool present = std::find(members.begin(), members.end(), member) != members.end();
  if (present && index != kNil && SlotAt(index)->expires_at >= keep_until) {
    return OkStatus();  // nothing to change
  }
  if (!present) {
    members.emplace_back(member);
  }
  std::string bytes = JoinMembers(members);
  // The oldest drop out when the set is full or would not fit the entry.
  while (members.size() > kMaxSetMembers || bytes.size() > entry_size_) {
    members.erase(members.begin());
    bytes = JoinMembers(members);
  }
  bool is_new = index == kNil;
  if (is_new) {
    index = TakeSlotLocked();
  }
  WriteLocked(index, is_new, key, hash, bytes, keep_until);
  return OkStatus();
}

Result<std::vector<std::string>> ShmStore::SetMembers(std::string_view key, int64_t now) {
  auto got = Get(key, now);
  if (!got) {
    return got.error();
  }
  if (!got->has_value()) {
    return std::vector<std::string>();
  }
  return SplitMembers((*got)->value);
}

Status ShmStore::SetRemove(std::string_view key, const std::vector<std::string>& members) {
  return ChangeSlotIfPresent(key, [&](uint32_t index, uint64_t hash) {
    Slot* s = SlotAt(index);
    std::string bytes;
    AppendValueLocked(s, bytes);
    std::vector<std::string> kept;
    for (auto& m : SplitMembers(bytes)) {
      if (std::find(members.begin(), members.end(), m) == members.end()) {
        kept.push_back(std::move(m));
      }
    }
    if (kept.empty()) {
      FreeSlotLocked(index);
    } else {
      WriteLocked(index, false, key, hash, JoinMembers(kept), s->expires_at);
    }
  });
}

Status ShmStore::Erase(std::string_view key) {
  return ChangeSlotIfPresent(key,
                             [&](uint32_t index, uint64_t /*hash*/) { FreeSlotLocked(index); });
}

Result<ShmStore::Stats> ShmStore::GetStats() {
  Lock lock(this);
  if (!lock.status().ok()) {
    return Result<Stats>(lock.status().error());
  }
  Stats st;
  st.capacity = capacity_;
  st.entry_size = entry_size_;
  st.region_bytes = header_->region_size;
  st.value_bytes_capacity = block_count_ * kBlockBytes;
  st.value_bytes_used = (block_count_ - header_->free_blocks) * kBlockBytes;
  st.live_entries = header_->live;
  st.evictions = header_->evictions;
  st.expired_reclaims = header_->expired_reclaims;
  st.lock_recoveries = header_->lock_recoveries;
  return st;
}

Status ShmStore::Verify() {
  Lock lock(this);
  if (!lock.status().ok()) {
    return lock.status();
  }
  return VerifyLocked();
}

Status ShmStore::VerifyLocked() {
  auto broken = [](const std::string& what) {
    return Status(Errc::kStoreUnavailable, "session store table inconsistent: " + what);
  };
  const Header* h = header_;
  uint32_t cap = static_cast<uint32_t>(capacity_);
  if (h->live > cap) {
    return broken("live count above capacity");
  }
  // LRU list: every node live, back links right, exactly `live` nodes, no cycle.
  uint32_t count = 0;
  uint32_t prev = kNil;
  for (uint32_t i = h->lru_head; i != kNil; i = SlotAt(i)->lru_next) {
    if (i >= cap || ++count > h->live) {
      return broken("LRU list out of range or longer than the live count");
    }
    const Slot* s = SlotAt(i);
    if (s->state != kLive || s->lru_prev != prev) {
      return broken("LRU list holds a non-live slot or a wrong back link");
    }
    prev = i;
  }
  if (count != h->live || h->lru_tail != prev) {
    return broken("LRU list length or tail disagrees with the header");
  }
  // Free list: the remaining slots, all free.
  count = 0;
  for (uint32_t i = h->free_head; i != kNil; i = SlotAt(i)->chain_next) {
    if (i >= cap || ++count > cap - h->live) {
      return broken("free list out of range or too long");
    }
    if (SlotAt(i)->state != kFree) {
      return broken("free list holds a used slot");
    }
  }
  if (count != cap - h->live) {
    return broken("free list length disagrees with the live count");
  }
  // Buckets: each live slot once, in the bucket its key hashes to, findable by its key.
  count = 0;
  for (uint32_t b = 0; b < h->bucket_count; ++b) {
    for (uint32_t i = buckets_[b]; i != kNil; i = SlotAt(i)->chain_next) {
      if (i >= cap || ++count > h->live) {
        return broken("bucket chain out of range or longer than the live count");
      }
      const Slot* s = SlotAt(i);
      std::string_view key(s->key, std::min<size_t>(s->key_len, kMaxKeyBytes));
      if (s->state != kLive || s->key_len == 0 || s->key_len > kMaxKeyBytes ||
          s->value_len > entry_size_ || s->hash != HashKey(key) || BucketOf(s->hash) != b ||
          FindLocked(key, s->hash) != i) {
        return broken("bucket " + std::to_string(b) + " holds a bad or duplicate slot");
      }
    }
  }
  if (count != h->live) {
    return broken("bucket chains hold a different number of slots than the live count");
  }
  Status blocks = VerifyBlocksLocked();
  ClearBlockMarksLocked();  // whatever VerifyBlocksLocked found
  return blocks;
}

// Every block in exactly one place: one live slot's chain, as long as its value needs, or the
// free list, as long as the header counts.
Status ShmStore::VerifyBlocksLocked() {
  auto broken = [](const std::string& what) {
    return Status(Errc::kStoreUnavailable, "session store pool inconsistent: " + what);
  };
  const Header* h = header_;
  if (h->free_blocks > block_count_) {
    return broken("more free blocks than blocks");
  }
  size_t used = 0;
  for (uint32_t i = h->lru_head; i != kNil; i = SlotAt(i)->lru_next) {
    const Slot* s = SlotAt(i);
    if (!MarkChainLocked(s)) {
      return broken("slot " + std::to_string(i) +
                    "'s chain is out of range, cyclic, shared or of the wrong length");
    }
    used += BlocksFor(s->value_len);
  }
  size_t free = 0;
  for (uint32_t b = h->free_block_head; b != kNoBlock; b = block_links_[b] & ~kBlockMark) {
    if (b >= block_count_ || (block_links_[b] & kBlockMark) != 0 || ++free > h->free_blocks) {
      return broken("free list out of range, cyclic, holding a used block or too long");
    }
    block_links_[b] |= kBlockMark;
  }
  if (free != h->free_blocks || used + free != block_count_) {
    return broken(std::to_string(used) + " blocks used and " + std::to_string(free) +
                  " free (header: " + std::to_string(h->free_blocks) + ") of " +
                  std::to_string(block_count_));
  }
  return OkStatus();
}

Status ShmStore::LockForTesting() {
  Lock lock(this);
  if (!lock.status().ok()) {
    return lock.status();
  }
  lock.Abandon();
  return OkStatus();
}

}  // namespace coinpay
