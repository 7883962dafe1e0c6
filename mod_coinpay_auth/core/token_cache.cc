// A sharded map; when a shard is full, expired entries go first, then an arbitrary one.
#include "core/token_cache.h"

#include <algorithm>
#include <functional>

namespace coinpay {

VerifiedTokenCache::VerifiedTokenCache(size_t capacity)
    : per_shard_capacity_(capacity / kShards + 1),
      introspection_(IntrospectionCache::Options{.capacity = capacity}) {}

size_t VerifiedTokenCache::HashOf(std::string_view token) {
  // Its last kHashedChars only (a JWT's signature: different for every token) and its length:
  // the lookup still compares the whole token, and only verified tokens are ever inserted, so
  // nobody can fill a bucket with tokens that share this hash.
  return std::hash<std::string_view>{}(
             token.substr(token.size() - std::min(token.size(), kHashedChars))) ^
         token.size();
}

size_t VerifiedTokenCache::ShardIndexOf(std::string_view token) {
  // Higher bits than the map's buckets use, so one shard's keys still spread over its buckets.
  return (HashOf(token) >> 7) % kShards;
}

std::shared_ptr<const Identity> VerifiedTokenCache::Find(std::string_view token, int64_t now) {
  const Probe probe{token, HashOf(token)};
  Shard& shard = ShardOfHash(probe.hash);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.map.find(probe);
  if (it == shard.map.end()) {
    return nullptr;
  }
  if (now >= it->second.expires_at) {
    shard.map.erase(it);
    return nullptr;
  }
  return it->second.identity;
}

void VerifiedTokenCache::Insert(std::string_view token, std::shared_ptr<const Identity> identity,
                                int64_t expires_at, int64_t now) {
  Key key{std::string(token), HashOf(token)};
  Shard& shard = ShardOfHash(key.hash);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.size() >= per_shard_capacity_) {
    for (auto it = shard.map.begin(); it != shard.map.end();) {
      it = now >= it->second.expires_at ? shard.map.erase(it) : std::next(it);
    }
    if (shard.map.size() >= per_shard_capacity_) {
      shard.map.erase(shard.map.begin());
    }
  }
  shard.map.insert_or_assign(std::move(key), Entry{std::move(identity), expires_at});
}

size_t VerifiedTokenCache::size() {
  size_t n = 0;
  for (auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.map.size();
  }
  return n;
}

}  // namespace coinpay
