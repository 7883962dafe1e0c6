// The module's shared key-value store: session records, and beside them the refresh locks,
// back-channel logout replay markers and the sid/sub indexes, all of which must be seen by every
// httpd child (and, with Redis, every node). Implementations: the apr_shm table shared by all
// children (platform/shm_store) and, for several nodes, Redis (platform/redis_store, sealed at
// rest by core/sealed_store).
//
// Records are versioned: every write gives an entry a new version, and PutIfVersion writes only
// over the version the caller read. That is what keeps a logout from being undone by a write
// that was already under way (see core/session.h for how sessions use it).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace coinpay {

class SharedStore {
 public:
  // A value as read, and the version it had: pass the version to PutIfVersion.
  struct Entry {
    std::string value;
    uint64_t version = 0;
  };
  // Members a set keeps at most; adding more drops one (the oldest in shared memory, an
  // arbitrary one in Redis).
  static constexpr size_t kMaxSetMembers = 64;

  virtual ~SharedStore() = default;

  // This store object's number in the process, never reused (not even by a store made later at
  // the same address): a version read from one store means nothing to another.
  uint64_t instance() const { return instance_; }

  // --- records ---------------------------------------------------------------------------
  // Stores `value` under `key` until Unix time `expires_at`, replacing any previous value.
  // Only for keys nobody else can know yet (a fresh random session id).
  // A value larger than the store's entry size is Errc::kStoreFull (the operator can act on it).
  virtual Status Put(std::string_view key, std::string_view value, int64_t expires_at) = 0;
  // The value and its version, or std::nullopt when absent or expired at `now`. Marks the
  // entry recently used.
  virtual Result<std::optional<Entry>> Get(std::string_view key, int64_t now) = 0;
  // What GetIfChanged found: either `unchanged` (the key still holds the caller's version, and
  // no value was transferred or opened), or what Get would have answered.
  struct Revalidation {
    bool unchanged = false;
    // With `unchanged`, where the store keeps the key's value, opaque to callers (0: nowhere
    // it can name): what StillHolds asks about next time. (Beside the flag: no bigger.)
    uint32_t where = 0;
    std::optional<Entry> entry;
  };
  // Get for a caller that already holds the value at `known_version` (core/cached_store): a
  // store that can compare versions where the value lives (Redis) answers `unchanged` without
  // sending the value. The answer is as fresh as Get's. By default it is Get's.
  virtual Result<Revalidation> GetIfChanged(std::string_view key, int64_t now,
                                            uint64_t /*known_version*/) {
    auto got = Get(key, now);
    if (!got) {
      return got.error();
    }
    return Revalidation{.entry = std::move(*got)};
  }
  // True only when the value the store keeps at `where` (a Revalidation's) is
  // still exactly the write that had `version` and has not expired at `now`: what
  // GetIfChanged would answer `unchanged` for, proven without taking the store's lock or
  // finding the key. false means only "cannot tell" (then ask GetIfChanged). A store that
  // keeps no such places (Redis, every decorator) always says false.
  virtual bool StillHolds(uint64_t /*where*/, uint64_t /*version*/, int64_t /*now*/) {
    return false;
  }
  // Compare-and-set: replaces the value only while `key` still holds `version` (it was neither
  // written, erased nor expired since it was read); false when it did not. Atomic across every
  // process sharing the store.
  virtual Result<bool> PutIfVersion(std::string_view key, std::string_view value,
                                    int64_t expires_at, uint64_t version, int64_t now) = 0;
  // Removes `key` whatever its version; erasing an absent key succeeds.
  virtual Status Erase(std::string_view key) = 0;

  // --- markers: locks and replay memory ---------------------------------------------------
  // Stores `value` only when `key` is absent or expired at `now`; true when it stored it. The
  // entry lives `expires_at - now` seconds counted by the store (so a node whose clock is off
  // still writes a lease of the right length). Atomic: the refresh single flight takes its lock
  // with it.
  virtual Result<bool> Add(std::string_view key, std::string_view value, int64_t expires_at,
                           int64_t now) = 0;
  // Erases `key` only while it still holds `expected` (a lock released by its owner only).
  virtual Status EraseIfEquals(std::string_view key, std::string_view expected) = 0;
  // Whether a marker written by Add is present (not expired) at `now`. Markers are read only
  // this way: a sealing store (Redis) keeps them as written, so Get could not open them.
  virtual Result<bool> Exists(std::string_view key, int64_t now) = 0;

  // --- sets: the sid/sub index of back-channel logout --------------------------------------
  // Adds `member` (1..255 bytes) to the set at `key` atomically (concurrent adds are all kept)
  // and keeps the set at least until `expires_at`. Members of an expired set that nobody read
  // since may survive into the renewed one (shared memory has no `now` here): harmless for the
  // index, whose stale members name sessions that are gone.
  virtual Status SetAdd(std::string_view key, std::string_view member, int64_t expires_at) = 0;
  // The members, in no particular order; empty when the set is absent or expired.
  virtual Result<std::vector<std::string>> SetMembers(std::string_view key, int64_t now) = 0;
  // Removes these members atomically; a set left empty disappears.
  virtual Status SetRemove(std::string_view key, const std::vector<std::string>& members) = 0;

 private:
  static uint64_t NextInstance() {
    static std::atomic<uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  const uint64_t instance_ = NextInstance();
};

// The base of a store that wraps another and changes only how session values are kept (sealed,
// cached): refresh locks, replay markers and index sets pass through as they are, because their
// owners compare them and they are random tokens and hashes, never a session.
class ValueStoreDecorator : public SharedStore {
 public:
  explicit ValueStoreDecorator(SharedStore& inner) : inner_(inner) {}

  Result<bool> Add(std::string_view key, std::string_view value, int64_t expires_at,
                   int64_t now) override {
    return inner_.Add(key, value, expires_at, now);
  }
  Status EraseIfEquals(std::string_view key, std::string_view expected) override {
    return inner_.EraseIfEquals(key, expected);
  }
  Result<bool> Exists(std::string_view key, int64_t now) override {
    return inner_.Exists(key, now);
  }
  Status SetAdd(std::string_view key, std::string_view member, int64_t expires_at) override {
    return inner_.SetAdd(key, member, expires_at);
  }
  Result<std::vector<std::string>> SetMembers(std::string_view key, int64_t now) override {
    return inner_.SetMembers(key, now);
  }
  Status SetRemove(std::string_view key, const std::vector<std::string>& members) override {
    return inner_.SetRemove(key, members);
  }

 protected:
  SharedStore& inner_;
};

}  // namespace coinpay
