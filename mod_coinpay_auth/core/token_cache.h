// Access tokens already verified, so a busy API pays one signature check per token rather than
// per request. Keyed by the whole token (compared in full, so a token whose signature was
// lifted onto another payload never matches), hashed with std::hash over its last 64
// characters (its signature, for a JWT): a SHA-256 per request was most of the bearer path's
// cost, and hashing a whole token of a kilobyte most of what was left. Each entry lives until the
// token's exp, and the cache never holds more than its capacity. Tokens stay in this process's
// memory only. Opaque tokens are not kept here: their introspection answers live in
// introspection(), keyed by a hash of the token, with the same capacity.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/action.h"
#include "core/introspection_cache.h"

namespace coinpay {

class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(size_t capacity);

  // The identity proven by `token`, or nullptr when not cached or expired at `now`.
  std::shared_ptr<const Identity> Find(std::string_view token, int64_t now);
  void Insert(std::string_view token, std::shared_ptr<const Identity> identity, int64_t expires_at,
              int64_t now);
  size_t size();
  // What introspection said about opaque tokens (core/opaque_bearer.cc).
  IntrospectionCache& introspection() { return introspection_; }
  // Which of the kShards shards a token lives in (tests fill one shard on purpose).
  static size_t ShardIndexOf(std::string_view token);
  static constexpr size_t kShards = 16;  // spreads lock contention across threads

 private:
  struct Entry {
    std::shared_ptr<const Identity> identity;
    int64_t expires_at;
  };
  // The token's hash is computed once per request and serves both the shard and the map;
  // a lookup probes with a view of the token, never a copy.
  struct Key {
    std::string token;
    size_t hash;
  };
  struct Probe {
    std::string_view token;
    size_t hash;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const Key& k) const { return k.hash; }
    size_t operator()(const Probe& p) const { return p.hash; }
  };
  struct KeyEq {
    using is_transparent = void;
    bool operator()(const Key& a, const Key& b) const { return a.token == b.token; }
    bool operator()(const Probe& a, const Key& b) const { return a.token == b.token; }
    bool operator()(const Key& a, const Probe& b) const { return a.token == b.token; }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<Key, Entry, KeyHash, KeyEq> map;
  };
  static size_t HashOf(std::string_view token);
  static constexpr size_t kHashedChars = 64;
  Shard& ShardOfHash(size_t hash) { return shards_[(hash >> 7) % kShards]; }

  size_t per_shard_capacity_;
  Shard shards_[kShards];
  IntrospectionCache introspection_;
};

}  // namespace coinpay
