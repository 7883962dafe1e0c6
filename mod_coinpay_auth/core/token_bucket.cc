// Whole seconds are the clock's resolution, so the bucket refills in steps of per_second.
#include "core/token_bucket.h"

#include <algorithm>

namespace coinpay {

TokenBucket::TokenBucket(int64_t per_second, int64_t burst)
    : per_second_(std::max<int64_t>(per_second, 0)),
      burst_(std::max<int64_t>(burst, 1)),
      tokens_(burst_) {}

TokenBucket::Take TokenBucket::TryTake(int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ || now < refilled_at_) {
    started_ = true;
    refilled_at_ = now;
  }
  int64_t elapsed = now - refilled_at_;
  if (elapsed > 0) {
    // Bounded first, so a long quiet spell cannot overflow the product.
    int64_t steps = std::min(elapsed, burst_);
    tokens_ = std::min(burst_, tokens_ + steps * per_second_);
    refilled_at_ = now;
  }
  if (tokens_ == burst_) {
    refusing_ = false;  // demand stayed below the rate long enough: the flood is over
  }
  Take take;
  if (tokens_ > 0) {
    --tokens_;
    take.granted = true;
  } else {
    take.first_refusal = !refusing_;
    refusing_ = true;
  }
  return take;
}

}  // namespace coinpay
