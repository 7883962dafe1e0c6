// A token bucket: at most `burst` calls at once, then `per_second` more each second. Bounds how
// often a process asks its provider about tokens it has never seen (core/opaque_bearer.cc).
//
//   TokenBucket bucket(20, 40);
//   auto take = bucket.TryTake(clock.NowSeconds());
//   if (!take.granted) { if (take.first_refusal) { log once }; answer 503 }
#pragma once

#include <cstdint>
#include <mutex>

namespace coinpay {

class TokenBucket {
 public:
  // Starts full.
  TokenBucket(int64_t per_second, int64_t burst);

  struct Take {
    bool granted = false;
    // The first refusal since the bucket was last full: a flood is reported once, not per
    // refused call, however long it lasts.
    bool first_refusal = false;
  };
  // Thread-safe. `now` in seconds; time going backwards refills nothing.
  Take TryTake(int64_t now);

  int64_t per_second() const { return per_second_; }
  int64_t burst() const { return burst_; }

 private:
  const int64_t per_second_;
  const int64_t burst_;
  std::mutex mu_;
  int64_t tokens_;
  bool started_ = false;
  int64_t refilled_at_ = 0;
  bool refusing_ = false;
};

}  // namespace coinpay
