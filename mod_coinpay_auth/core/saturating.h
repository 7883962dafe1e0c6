// Integer arithmetic on numbers an attacker may choose (a token's exp, a provider's expires_in):
// sums clamp at the int64_t limits instead of overflowing (undefined behaviour in C++).
//
//   record.access_expires_at = SaturatingAdd(now, tokens->expires_in);
#pragma once

#include <cstdint>
#include <limits>

namespace coinpay {

constexpr int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

}  // namespace coinpay
