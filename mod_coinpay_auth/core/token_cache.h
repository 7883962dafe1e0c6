// Access tokens already verified, so a busy API pays one signature check per token rather than
// per request. Keyed by SHA-256 of the token (the token itself is not kept), each entry lives
// until the token's exp, and the cache never holds more than its capacity.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "coinpay_auth/action.h"

namespace coinpay {

class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(size_t capacity);

  // The identity proven by `token`, or nullptr when not cached or expired at `now`.
  std::shared_ptr<const Identity> Find(std::string_view token, int64_t now);
  void Insert(std::string_view token, std::shared_ptr<const Identity> identity, int64_t expires_at,
              int64_t now);
  size_t size();

 private:
  static constexpr size_t kShards = 16;  // spreads lock contention across threads
  struct Entry {
    std::shared_ptr<const Identity> identity;
    int64_t expires_at;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> map;
  };
  Shard& ShardFor(const std::string& key);

  size_t per_shard_capacity_;
  Shard shards_[kShards];
};

}  // namespace coinpay
