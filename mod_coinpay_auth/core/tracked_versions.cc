// Versions known from a push-invalidated store; the rules are in the header.
#include "core/tracked_versions.h"

#include <algorithm>
#include <cstdint>

namespace coinpay {

size_t TrackedVersions::BucketOf(std::string_view key) {
  return std::hash<std::string_view>{}(key) % kBuckets;
}

bool TrackedVersions::alive(int64_t now_ms) const {
  return subscribed_ && now_ms - last_proof_ms_ <= limits_.freshness_ms;
}

bool TrackedVersions::Knows(std::string_view key, uint64_t version, int64_t now_ms) const {
  // While a PING is outstanding nothing is answered: a write that Redis handles in the same
  // turn of its event loop as the PING has its answer written before the invalidation (which
  // then travels with the PONG), so the writer could be answered before this process hears.
  if (!alive(now_ms) || outstanding_seq_ != 0) {
    return false;
  }
  auto it = versions_.find(key);
  return it != versions_.end() && it->second == version;
}

TrackedVersions::Ticket TrackedVersions::TicketFor(std::string_view key) const {
  return Ticket{all_epoch_, bucket_epochs_[BucketOf(key)]};
}

void TrackedVersions::Record(std::string_view key, uint64_t version, Ticket ticket,
                             int64_t now_ms) {
  if (!alive(now_ms) || ticket.all != all_epoch_ ||
      ticket.bucket != bucket_epochs_[BucketOf(key)]) {
    return;  // something was invalidated while the read was under way: it may be this key
  }
  if (auto it = versions_.find(key); it != versions_.end()) {
    it->second = version;
    return;
  }
  if (versions_.size() >= limits_.max_keys) {
    versions_.clear();  // forgetting is always safe; the next reads ask the store
  }
  versions_.emplace(std::string(key), version);
}

void TrackedVersions::Invalidate(std::string_view key) {
  ++bucket_epochs_[BucketOf(key)];
  if (auto it = versions_.find(key); it != versions_.end()) {
    versions_.erase(it);
  }
}

void TrackedVersions::InvalidateAll() {
  ++all_epoch_;
  versions_.clear();
}

void TrackedVersions::Subscribed(int64_t now_ms) {
  InvalidateAll();  // what arrived before the subscription cannot be known: start empty
  subscribed_ = true;
  last_proof_ms_ = now_ms;
  outstanding_seq_ = 0;
}

void TrackedVersions::Lost() {
  InvalidateAll();
  subscribed_ = false;
  outstanding_seq_ = 0;
}

void TrackedVersions::Backlog() {
  InvalidateAll();
  last_proof_ms_ = INT64_MIN / 4;
  outstanding_seq_ = 0;  // its PONG may come before the rest of the backlog: not a proof
  required_seq_ = next_seq_;
}

bool TrackedVersions::PingDue(int64_t now_ms) const {
  return subscribed_ && outstanding_seq_ == 0 && now_ms - last_proof_ms_ >= limits_.ping_every_ms;
}

uint64_t TrackedVersions::StartPing(int64_t now_ms) {
  outstanding_seq_ = next_seq_++;
  outstanding_sent_ms_ = now_ms;
  return outstanding_seq_;
}

void TrackedVersions::Pong(uint64_t seq) {
  if (seq == 0 || seq != outstanding_seq_) {
    return;  // a PING given up on (Backlog), or not ours
  }
  outstanding_seq_ = 0;
  if (seq >= required_seq_) {
    // Redis answers a PING after every invalidation it queued before it: the state is fresh
    // as of when the PING was sent, not when the PONG came.
    last_proof_ms_ = std::max(last_proof_ms_, outstanding_sent_ms_);
  }
}

bool TrackedVersions::PingOverdue(int64_t now_ms, int64_t timeout_ms) const {
  return subscribed_ && outstanding_seq_ != 0 && now_ms - outstanding_sent_ms_ > timeout_ms;
}

}  // namespace coinpay
