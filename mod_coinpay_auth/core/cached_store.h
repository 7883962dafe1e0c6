// A SharedStore decorator that keeps recently read values in this process so that a request
// for a session that has not changed transfers and opens nothing: the store stack for Redis is
// CachedStore -> SealedStore -> RedisStore.
//
// Why it can never serve a stale value: every Get still asks the inner store, with the version
// of the copy held here (GetIfChanged: for Redis one GETRANGE of the value's last 8 bytes, which
// every sealed write renews). The copy is returned only when the store answers "unchanged" at
// that moment; otherwise its answer (a new value, absent, expired, an error) is what the caller
// gets. So a write or logout on any node is seen by the next Get on every node, and expiry
// stays the store's own. The cache saves the transfer and the unseal (AES-GCM), never the
// question; the store may answer the question without a round trip when Redis pushes its
// changes (RedisStore with CoinpayRedisTracking on, core/tracked_versions.h).
//
// Why here, above SealedStore and not inside it or RedisStore: it holds plaintext, so it must
// sit above the one place that seals (SealedStore stays the only code that sees the at-rest
// key), and it needs nothing of Redis beyond GetIfChanged, so it stays in core, testable over
// any SharedStore.
//
// Bounded (least recently used goes first) by entries and by bytes; per process, shared by its
// threads under one mutex that is never held across a store call. This process's own writes
// (Put, PutIfVersion, Erase) drop the key's copy: the next Get fetches the new value once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/shared_store.h"

namespace coinpay {

class CachedStore final : public ValueStoreDecorator {
 public:
  struct Limits {
    size_t max_entries = 2048;
    size_t max_bytes = size_t{8} << 20;  // values and keys together
  };
  struct Stats {
    uint64_t hits = 0;    // answered "unchanged": served from here
    uint64_t misses = 0;  // no copy here, or the store sent a new value
  };

  explicit CachedStore(SharedStore& inner) : CachedStore(inner, Limits{}) {}
  CachedStore(SharedStore& inner, Limits limits);
  CachedStore(const CachedStore&) = delete;
  CachedStore& operator=(const CachedStore&) = delete;

  Result<std::optional<Entry>> Get(std::string_view key, int64_t now) override;
  Result<Revalidation> GetIfChanged(std::string_view key, int64_t now,
                                    uint64_t known_version) override;
  Status Put(std::string_view key, std::string_view value, int64_t expires_at) override;
  Result<bool> PutIfVersion(std::string_view key, std::string_view value, int64_t expires_at,
                            uint64_t version, int64_t now) override;
  Status Erase(std::string_view key) override;

  // Markers and sets pass through (ValueStoreDecorator): they are never cached.

  Stats stats() const;
  size_t size() const;  // entries held now

 private:
  struct Item {
    std::string key;
    Entry entry;
  };
  using List = std::list<Item>;  // most recently used first

  // The held copy's version, if any.
  std::optional<uint64_t> VersionHeld(std::string_view key);
  // The held copy when it still has `version` (marked recently used), else nullopt.
  std::optional<Entry> CopyIfVersion(std::string_view key, uint64_t version);
  // Marks the held copy recently used (a hit) when it still has `version`.
  bool MarkUsedIfVersion(std::string_view key, uint64_t version);
  void Remember(std::string_view key, const Entry& entry);
  void Forget(std::string_view key);
  void EraseLocked(List::iterator it);

  const Limits limits_;
  mutable std::mutex mu_;
  List lru_;
  std::unordered_map<std::string_view, List::iterator> index_;  // views into lru_'s keys
  size_t bytes_ = 0;
  Stats stats_;
};

}  // namespace coinpay
