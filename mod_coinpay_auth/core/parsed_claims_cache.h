// Claims JSON already parsed, by its exact text: a session request keeps its claims as the
// stored text, and `Require coinpay-claim` / `coinpay-scope` would otherwise parse it on every
// request of the session. Parsing is a pure function of the text, so an entry never goes stale;
// the text is compared in full, so one user's claims never answer for another's. Bounded:
// when a shard is full an arbitrary entry makes room.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/json.h"

namespace coinpay {

class ParsedClaimsCache {
 public:
  explicit ParsedClaimsCache(size_t capacity);
  // The parsed form of `json` (parsed now unless cached); nullptr when it is not JSON.
  std::shared_ptr<const Json> Parsed(std::string_view json);
  size_t size();

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<const Json>, Hash, std::equal_to<>> map;
  };
  static constexpr size_t kShards = 8;
  size_t per_shard_capacity_;
  Shard shards_[kShards];
};

}  // namespace coinpay
