// Session id -> its store key (SHA-256 of the id), kept per process so a returning browser's id
// is hashed once per process rather than on every request. The mapping is a pure function of
// the id, so an entry never goes stale (a logged-out id still finds nothing in the store); the
// ids stay in this process, which reads them from every request anyway, and never reach the
// shared store. Bounded: one entry per slot, a newer id takes the slot. The slot is chosen by
// SipHash under a random key drawn in this process on first use, so nobody can aim ids at a
// slot; the id found there is compared in constant time. Callers remember only ids that named
// a live session, so unknown ids cannot push the signed-in users' entries out.
// A slot also keeps the record this process last read for its id (core/session.h
// StoredSession): a request that finds the store still holding its version (shared memory
// compares it in place, nothing copied) reuses its decoded view and identity.
// Records are only ever checked against what the store holds for the same key now, so a kept
// record is never served for another id, nor once the stored one changed or went away.
// Memory: the kept records are bounded by a budget (kDefaultRecordBudget, counted as twice each
// record's size, for the identity made from it); past it, ids are remembered without one.
//
//   SessionKeyCache cache(4096, random);
//   ShortBytes key;
//   std::shared_ptr<const StoredSession> seen;
//   if (!cache.Find(id, key, &seen)) { key.Assign(Sha256(id)); }
//   /* ... and once the session opened from bytes other than seen's: */
//   cache.Remember(id, key, stored);
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/effects.h"
#include "core/session.h"
#include "core/siphash.h"

namespace coinpay {

class SessionKeyCache {
 public:
  static constexpr size_t kMaxIdSize = 48;  // longer ids are hashed every time
  static constexpr size_t kKeySize = 32;

  static constexpr size_t kDefaultRecordBudget = size_t{4} << 20;  // per process

  SessionKeyCache(size_t slots, Random& random, size_t record_budget = kDefaultRecordBudget);
  SessionKeyCache(const SessionKeyCache&) = delete;
  SessionKeyCache& operator=(const SessionKeyCache&) = delete;

  // true, with `key` set, when `id`'s store key is kept; `seen` (when given) gets the record
  // last remembered with it (nullptr: none).
  bool Find(std::string_view id, ShortBytes& key,
            std::shared_ptr<const StoredSession>* seen = nullptr);
  // Keeps `key` (kKeySize bytes) as `id`'s store key, and `seen` as the record last read under
  // it (unless that would pass the budget), in place of whatever held its slot.
  void Remember(std::string_view id, std::string_view key,
                std::shared_ptr<const StoredSession> seen = nullptr);

 private:
  struct Slot {
    uint8_t id_size = 0;  // 0: empty
    char id[kMaxIdSize];
    char key[kKeySize];
    std::shared_ptr<const StoredSession> seen;
  };
  static constexpr size_t kStripes = 16;
  bool SlotOf(std::string_view id, size_t& index);
  // What a kept record counts against the budget: its bytes, and as much again for the
  // identity made from it.
  static size_t CostOf(const std::shared_ptr<const StoredSession>& s) {
    return s != nullptr ? 2 * s->bytes.size() + 256 : 0;
  }

  Random& random_;
  std::mutex key_mu_;
  std::atomic<bool> keyed_{false};  // hash_key_ and usable_ are set (read without key_mu_ then)
  bool usable_ = false;             // false when the generator failed: nothing is kept
  SipHashKey hash_key_{};
  size_t slot_count_;
  std::unique_ptr<Slot[]> slots_;
  const size_t record_budget_;
  std::atomic<size_t> record_cost_{0};  // CostOf every kept record (a race may pass it by one)
  std::mutex stripes_[kStripes];
};

}  // namespace coinpay
