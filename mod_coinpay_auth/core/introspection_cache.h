// What introspection (RFC 7662) said about opaque bearer tokens, remembered per process so that
// a token costs the provider one call per lifetime of its answer, however often and however
// many threads present it at once.
//
//   IntrospectionCache known({.capacity = 10000});
//   IntrospectionVerdict v = known.Resolve(token, now, [&] {
//     return IntrospectionCache::Answer{AskTheProvider(token), /*remember_until=*/now + 60};
//   });
//
// Keyed by the token's SHA-256, so the token itself is never kept. Refusals are remembered as
// well as acceptances: a client repeating a garbage token is answered from memory. When several
// threads resolve one unknown token at once, one of them runs `ask`; the others wait for its
// verdict (at most max_wait, then kUnavailable). Least recently used entries leave first once
// the cache is full. Also holds the budget for provider calls (a token bucket).
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/action.h"
#include "core/token_bucket.h"

namespace coinpay {

struct IntrospectionVerdict {
  enum class Kind { kAllowed, kRefused, kUnavailable };
  Kind kind = Kind::kUnavailable;
  std::shared_ptr<const Identity> identity;  // kAllowed: who the token speaks for
  const char* description = "";              // kRefused: the fixed RFC 6750 error_description

  static IntrospectionVerdict Allowed(std::shared_ptr<const Identity> id) {
    return {Kind::kAllowed, std::move(id), ""};
  }
  static IntrospectionVerdict Refused(const char* description) {
    return {Kind::kRefused, nullptr, description};
  }
  static IntrospectionVerdict Unavailable() { return {}; }
};

class IntrospectionCache {
 public:
  struct Options {
    size_t capacity = 10000;
    // How long a thread waits for another thread's call about the same token. The provider
    // call has its own timeouts; this only keeps a waiter from waiting forever.
    std::chrono::milliseconds max_wait{20000};
    // Calls to the provider about unknown tokens, per process (per cache).
    int64_t asks_per_second = 20;
    int64_t ask_burst = 40;
  };
  // What `ask` found: the verdict, remembered until `remember_until` (not at all when that is
  // not after `now`; kUnavailable is never remembered).
  struct Answer {
    IntrospectionVerdict verdict;
    int64_t remember_until = 0;
  };
  using Key = std::array<unsigned char, 32>;

  explicit IntrospectionCache(Options options);

  // The remembered verdict for `token`, else the one a concurrent call is getting, else `ask`'s.
  IntrospectionVerdict Resolve(std::string_view token, int64_t now,
                               const std::function<Answer()>& ask);

  // The budget `ask` should draw on before it calls the provider.
  TokenBucket& budget() { return budget_; }

  size_t size();
  // Threads waiting for another's call right now (tests wait for this to fill up).
  size_t waiting();
  static Key KeyOf(std::string_view token);

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const {
      size_t h;
      std::memcpy(&h, k.data(), sizeof(h));  // already uniformly distributed: a SHA-256
      return h;
    }
  };
  struct Entry {
    IntrospectionVerdict verdict;
    int64_t expires_at;
    std::list<Key>::iterator recency;
  };
  struct Flight {
    std::condition_variable done_cv;
    bool done = false;
    IntrospectionVerdict verdict;
  };
  class FlightGuard;

  const IntrospectionVerdict* FindLocked(const Key& key, int64_t now);
  void RememberLocked(const Key& key, const IntrospectionVerdict& verdict, int64_t expires_at);

  const Options options_;
  TokenBucket budget_;
  std::mutex mu_;
  std::list<Key> recency_;  // most recently used first
  std::unordered_map<Key, Entry, KeyHash> entries_;
  std::unordered_map<Key, std::shared_ptr<Flight>, KeyHash> flights_;
  size_t waiting_ = 0;
};

}  // namespace coinpay
