// The breaker's state machine under one mutex. Log lines are written after the lock is let go:
// one when the breaker opens (the provider is failing) and one when a probe closes it again.
#include "core/circuit_breaker.h"

#include <algorithm>
#include <utility>

#include "core/log.h"

namespace coinpay {

CircuitBreaker::Permit::Permit(Permit&& other) noexcept
    : breaker_(std::exchange(other.breaker_, nullptr)), probe_(other.probe_) {}

CircuitBreaker::Permit::~Permit() {
  if (breaker_ != nullptr) {
    Failed("the call ended without an answer");
  }
}

void CircuitBreaker::Permit::Succeeded() {
  if (CircuitBreaker* b = std::exchange(breaker_, nullptr)) {
    b->Record(probe_, true, {});
  }
}

void CircuitBreaker::Permit::Failed(std::string_view why) {
  if (CircuitBreaker* b = std::exchange(breaker_, nullptr)) {
    b->Record(probe_, false, why);
  }
}

CircuitBreaker::CircuitBreaker(const Clock& clock, LogSink& log, std::string provider)
    : CircuitBreaker(clock, log, std::move(provider), Options{}) {}

CircuitBreaker::CircuitBreaker(const Clock& clock, LogSink& log, std::string provider,
                               Options options)
    : clock_(clock), log_(log), provider_(std::move(provider)), options_(options) {}

Result<CircuitBreaker::Permit> CircuitBreaker::Acquire() {
  std::lock_guard<std::mutex> lock(mu_);
  switch (state_) {
    case State::kClosed:
      return Permit(this, false);
    case State::kOpen:
      if (clock_.NowSeconds() >= opened_at_ + options_.cool_down_seconds) {
        state_ = State::kHalfOpen;  // this caller's call is the one probe
        return Permit(this, true);
      }
      break;
    case State::kHalfOpen:
      break;  // the probe is out: everyone else waits for its verdict
  }
  return Error{Errc::kCircuitOpen,
               "calls to " + provider_ + " are held back after repeated failures (circuit open)"};
}

int64_t CircuitBreaker::RetryAfterSeconds() const {
  std::lock_guard<std::mutex> lock(mu_);
  switch (state_) {
    case State::kClosed:
      return 0;
    case State::kOpen:
      return std::max<int64_t>(0, opened_at_ + options_.cool_down_seconds - clock_.NowSeconds());
    case State::kHalfOpen:
      return 1;
  }
  return 0;
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

void CircuitBreaker::Record(bool probe, bool ok, std::string_view why) {
  bool opened = false;
  bool closed = false;
  int64_t open_until = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (probe) {
      // Only the probe decides a half-open breaker.
      if (ok) {
        closed = true;
        state_ = State::kClosed;
        consecutive_failures_ = 0;
      } else {
        state_ = State::kOpen;
        opened_at_ = clock_.NowSeconds();
        open_until = opened_at_ + options_.cool_down_seconds;
      }
    } else if (state_ == State::kClosed) {
      if (ok) {
        consecutive_failures_ = 0;
      } else if (++consecutive_failures_ >= options_.failure_threshold) {
        opened = true;
        state_ = State::kOpen;
        opened_at_ = clock_.NowSeconds();
        open_until = opened_at_ + options_.cool_down_seconds;
      }
    }
    // A call let through before the breaker opened and answered after it: its verdict is
    // stale, the probe's is the one that counts.
  }
  if (open_until != 0 && on_open_) {
    on_open_(open_until);
  }
  if (opened) {
    LogAt(log_, LogLevel::kWarn, 190,
          "provider " + provider_ + " failed " + std::to_string(options_.failure_threshold) +
              " calls in a row (last: " + std::string(why) + "); calls to it are refused for " +
              std::to_string(options_.cool_down_seconds) +
              " s at a time until one succeeds (503 where a live access token is needed)");
  }
  if (closed) {
    LogAt(log_, LogLevel::kNotice, 191,
          "provider " + provider_ + " answers again; calls to it go through");
  }
}

}  // namespace coinpay
