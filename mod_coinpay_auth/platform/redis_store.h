// The scale-out SharedStore: Redis, so several Apache nodes share sessions. hiredis is used
// here and nowhere else. Wrap it in an SealedStore (core) so values are sealed at
// rest; keys are already hashes of session ids.
//
// With options.tracking (CoinpayRedisTracking on), each process also keeps one connection on
// which Redis pushes an invalidation for every write, delete or expiry of a key under the
// prefix, by any node (CLIENT TRACKING ... BCAST, RESP2 redirect to its own SUBSCRIBE); while
// that channel is alive and names nothing, GetIfChanged answers "unchanged" for a version this
// process read without asking Redis (core/tracked_versions.h has the rules).
//
//   auto opts = ParseRedisUrl("redis://:secret@127.0.0.1:6379/0");  // core/store_config.h
//   RedisStore redis(*opts);
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/shared_store.h"
#include "core/store_config.h"
#include "core/tracked_versions.h"

struct redisContext;

namespace coinpay {

class LogSink;

class RedisStore final : public SharedStore {
 public:
  using Options = RedisOptions;  // core/store_config.h parses them from CoinpaySessionStore

  // `log`: where the tracking channel reports that Redis refused it (may be null).
  explicit RedisStore(Options options, LogSink* log = nullptr);
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  Status Put(std::string_view key, std::string_view value, int64_t expires_at) override;
  // A record's version is its last 8 bytes (a shorter value: the number its bytes make). Under
  // SealedStore, as the module uses it, those are part of the AES-GCM tag over a fresh random
  // IV, so every write by any node (of this release or an earlier one: the stored format is the
  // same plain string) ends in bytes no earlier write ended in, with the odds of a 64-bit
  // collision. Unsealed, two values with the same last 8 bytes would show the same version.
  Result<std::optional<Entry>> Get(std::string_view key, int64_t now) override;
  // GETRANGE of those 8 bytes, in place in Redis (O(1), no script, no copy of the value): when
  // they are the caller's version the answer is `unchanged`; otherwise GET answers.
  Result<Revalidation> GetIfChanged(std::string_view key, int64_t now,
                                    uint64_t known_version) override;
  Result<bool> PutIfVersion(std::string_view key, std::string_view value, int64_t expires_at,
                            uint64_t version, int64_t now) override;
  Status Erase(std::string_view key) override;
  // SET NX PX: the lease is relative, so Redis's clock, not this node's, ends it.
  Result<bool> Add(std::string_view key, std::string_view value, int64_t expires_at,
                   int64_t now) override;
  Status EraseIfEquals(std::string_view key, std::string_view expected) override;
  Result<bool> Exists(std::string_view key, int64_t now) override;
  // Redis sets (SADD, SMEMBERS, SREM), each operation one atomic command or script.
  Status SetAdd(std::string_view key, std::string_view member, int64_t expires_at) override;
  Result<std::vector<std::string>> SetMembers(std::string_view key, int64_t now) override;
  Status SetRemove(std::string_view key, const std::vector<std::string>& members) override;

  // The version Get reports for these stored bytes.
  static uint64_t VersionOf(std::string_view stored);

  // GetIfChanged answers given without a round trip (tracking), and whether the invalidation
  // channel is alive now.
  uint64_t local_answers() const { return local_answers_.load(std::memory_order_relaxed); }
  bool tracking_alive();
  // Counts how copies were confirmed and the channel's events (slot 0; before any request).
  // Answers given without a round trip are added in batches of this many per process, so the
  // shared counter is not written on every request.
  static constexpr uint64_t kTrackingCountBatch = 64;
  void AttachMetrics(const Metrics& metrics) { metrics_ = metrics; }

 private:
  struct Reply;
  // Runs one command on a pooled connection; a broken connection is dropped, not reused, so the
  // next command reconnects (Redis restarted: sessions resume).
  // `retry` allows one more try on a fresh connection when a pooled one turns out closed; not
  // for SET NX, which could have run before the connection died.
  Result<Reply> Command(const std::vector<std::string_view>& args, bool retry = true);
  // *reused: the connection came from the pool (it may have been closed by the server).
  Result<redisContext*> Acquire(bool* reused);
  // A new connection, authenticated and on the right database.
  Result<redisContext*> Connect();
  void DropIdle();  // frees every pooled connection
  void Release(redisContext* c, bool healthy);
  std::string KeyOf(std::string_view key) const;

  // --- tracking (options_.tracking) ---
  struct Channel;
  // Drains the channel and keeps it alive or reopens it; true when `key` is known to hold
  // `version` now. Otherwise *ticket is what a read sent after this call records with. An
  // error when this call tried to reopen the channel and Redis could not be reached: the
  // request is answered by that (one wait for Redis, not a second one for the read).
  Result<bool> KnownUnchanged(std::string_view key, uint64_t version,
                              TrackedVersions::Ticket* ticket);
  void Remember(std::string_view key, uint64_t version, TrackedVersions::Ticket ticket);
  TrackedVersions::Ticket TicketFor(std::string_view key);

  Options options_;
  LogSink* log_;
  std::mutex mu_;
  std::vector<redisContext*> idle_;   // one per thread that needed one at once, reused
  std::unique_ptr<Channel> channel_;  // null when tracking is off
  std::atomic<uint64_t> local_answers_{0};
  Metrics metrics_;  // counts nothing until attached
};

}  // namespace coinpay
