#include "core/parsed_claims_cache.h"

namespace coinpay {

ParsedClaimsCache::ParsedClaimsCache(size_t capacity)
    : per_shard_capacity_(capacity / kShards + 1) {}

std::shared_ptr<const Json> ParsedClaimsCache::Parsed(std::string_view json) {
  const size_t hash = Hash{}(json);
  Shard& shard = shards_[(hash >> 7) % kShards];
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    if (auto it = shard.map.find(json); it != shard.map.end()) {
      return it->second;
    }
  }
  auto parsed = Json::Parse(json);  // outside the lock: parsing is the slow part
  if (!parsed) {
    return nullptr;
  }
  auto shared = std::make_shared<const Json>(std::move(*parsed));
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.size() >= per_shard_capacity_) {
    shard.map.erase(shard.map.begin());
  }
  shard.map.emplace(std::string(json), shared);
  return shared;
}

size_t ParsedClaimsCache::size() {
  size_t n = 0;
  for (auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.map.size();
  }
  return n;
}

}  // namespace coinpay
