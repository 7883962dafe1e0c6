// What one process knows of record versions from a store that pushes invalidations (Redis
// client-side caching: CLIENT TRACKING ... BCAST, platform/redis_store.cc). While the push
// channel is alive and says nothing about a key, the version last read for it is still the
// key's version, so a read that only asks "still version v?" needs no round trip.
//
// Three rules keep it from ever answering for a changed record:
// - An invalidation for a key (or for all keys) removes what is known, and is applied before
//   any answer (the caller drains the channel first).
// - A version read from the store is recorded only if no invalidation for that key's bucket
//   (or for all keys) was applied between the moment the read was sent and the moment it is
//   recorded: otherwise the invalidation may have been about a write that came after the
//   read's answer, and the answer is already stale. `TicketFor` taken before sending the read,
//   `Record` after its answer.
// - Nothing is answered while the channel is not known to be alive: the last proof of life
//   (PONG to a PING sent on the channel, which arrives after every invalidation Redis queued
//   before it) must be younger than `freshness_ms`. The channel being lost, a message it
//   cannot parse, or a backlog it may not have drained whole forgets everything. While a PING
//   is outstanding nothing is answered either (Redis may write a write's answer before the
//   invalidation that shares a turn of its event loop with the PING; it arrives with the PONG).
//
// Not thread-safe: the owner holds one lock around the drain and these calls. Time is
// milliseconds on a monotonic clock, passed in, so the rules are tested without waiting.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace coinpay {

class TrackedVersions {
 public:
  struct Limits {
    size_t max_keys = 65536;      // more: forget all and start over (bounded memory)
    int64_t freshness_ms = 1000;  // proof of life older than this: answer nothing
    int64_t ping_every_ms = 250;  // how often the owner should send a PING while serving
  };
  // Taken before a read is sent; Record compares it with what was applied meanwhile.
  struct Ticket {
    uint64_t all = 0;
    uint64_t bucket = 0;
  };

  TrackedVersions() : TrackedVersions(Limits{}) {}
  explicit TrackedVersions(Limits limits) : limits_(limits) {}

  // True only when the channel is alive at `now_ms` and `key`'s recorded version is `version`.
  bool Knows(std::string_view key, uint64_t version, int64_t now_ms) const;
  Ticket TicketFor(std::string_view key) const;
  // Remembers `version` as `key`'s, unless an invalidation that could concern it was applied
  // since `ticket` was taken, or the channel is not alive.
  void Record(std::string_view key, uint64_t version, Ticket ticket, int64_t now_ms);

  void Invalidate(std::string_view key);
  void InvalidateAll();

  // The channel: subscribed (and proved alive) at `now_ms`; lost (forgets all; nothing is
  // answered until Subscribed again).
  void Subscribed(int64_t now_ms);
  void Lost();
  // A drain read so much at once that more may still wait on Redis's side (the socket was
  // full): forget all, and answer nothing until the PONG of a PING sent after now.
  void Backlog();
  // Proof of life. PingDue: none outstanding and the last proof older than ping_every_ms.
  // StartPing: the sequence number to send as the PING's payload. Pong: Redis echoed `seq`.
  bool PingDue(int64_t now_ms) const;
  uint64_t StartPing(int64_t now_ms);
  void Pong(uint64_t seq);
  // The outstanding PING went unanswered for longer than `timeout_ms`: drop the channel.
  bool PingOverdue(int64_t now_ms, int64_t timeout_ms) const;

  bool alive(int64_t now_ms) const;
  size_t size() const { return versions_.size(); }

 private:
  static constexpr size_t kBuckets = 1024;
  static size_t BucketOf(std::string_view key);

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  Limits limits_;
  bool subscribed_ = false;
  int64_t last_proof_ms_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t outstanding_seq_ = 0;  // 0: no PING outstanding
  int64_t outstanding_sent_ms_ = 0;
  uint64_t required_seq_ = 0;  // a PONG proves life only from this PING on (Backlog)
  uint64_t all_epoch_ = 0;     // counts InvalidateAll and Lost
  std::array<uint64_t, kBuckets> bucket_epochs_{};
  std::unordered_map<std::string, uint64_t, Hash, std::equal_to<>> versions_;
};

}  // namespace coinpay
