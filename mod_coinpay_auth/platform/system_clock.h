// The real clock, for production; tests use a fake Clock and move time themselves.
#pragma once

#include <chrono>
#include <ctime>
#include <thread>

#include "core/effects.h"

namespace coinpay {

class SystemClock final : public Clock {
 public:
  int64_t NowSeconds() const override { return static_cast<int64_t>(std::time(nullptr)); }
  void SleepFor(std::chrono::milliseconds duration) const override {
    std::this_thread::sleep_for(duration);
  }
  int64_t MonotonicNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace coinpay
