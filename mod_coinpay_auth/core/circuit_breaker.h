// A circuit breaker for the calls one process makes to one provider, so that an outage costs
// each request a fast refusal instead of a wait for the HTTP timeout. Closed: calls go; after
// `failure_threshold` consecutive failures it opens and refuses them for `cool_down_seconds`;
// then exactly one call goes as a probe (half-open): its success closes the breaker, its
// failure opens it again for another cool-down. Time comes from the injected Clock.
//
//   auto permit = provider.breaker().Acquire();  // Errc::kCircuitOpen while open
//   if (!permit) { return permit.error(); }
//   auto resp = provider.http().Send(req);
//   if (!resp || resp->status >= 500) { permit->Failed("..."); } else { permit->Succeeded(); }
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "core/effects.h"
#include "core/result.h"

namespace coinpay {

class CircuitBreaker {
 public:
  struct Options {
    int failure_threshold = 5;
    int64_t cool_down_seconds = 30;
  };
  enum class State { kClosed, kOpen, kHalfOpen };

  // Leave for one call. Its verdict is given once; a permit dropped without one counts as a
  // failure, so a probe that never reports cannot hold the breaker half-open for ever.
  class Permit {
   public:
    Permit(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    Permit& operator=(Permit&&) = delete;
    ~Permit();

    // The provider answered (any status below 500: an OAuth error is an answer).
    void Succeeded();
    // Transport failure or 5xx; `why` is safe to log (an Error's detail).
    void Failed(std::string_view why);
    bool probe() const { return probe_; }

   private:
    friend class CircuitBreaker;
    Permit(CircuitBreaker* breaker, bool probe) : breaker_(breaker), probe_(probe) {}
    CircuitBreaker* breaker_;  // null once the verdict is given
    bool probe_;
  };

  // `provider` names the provider in log lines (its issuer).
  CircuitBreaker(const Clock& clock, LogSink& log, std::string provider);
  CircuitBreaker(const Clock& clock, LogSink& log, std::string provider, Options options);

  // A permit, or Errc::kCircuitOpen while the breaker refuses calls.
  Result<Permit> Acquire();
  // Seconds until a call may be tried again (what Retry-After should say); 0 when one may go
  // now. Half-open with its probe out: 1.
  int64_t RetryAfterSeconds() const;
  State state() const;
  // Called (outside the lock) each time the breaker opens, with the time it may let a probe go:
  // the status page counts openings and shows the circuit open while any child has it open.
  void OnOpen(std::function<void(int64_t until)> hook) { on_open_ = std::move(hook); }

 private:
  void Record(bool probe, bool ok, std::string_view why);

  const Clock& clock_;
  LogSink& log_;
  const std::string provider_;
  const Options options_;

  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  int64_t opened_at_ = 0;
  std::function<void(int64_t)> on_open_;
};

}  // namespace coinpay
