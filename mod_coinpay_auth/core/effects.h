// The seams between the core and the world: time, randomness, HTTP and logging. The core only
// ever talks to these interfaces, so unit tests drive it with fakes and simulated time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace coinpay {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowSeconds() const = 0;  // Unix time
  // Blocks the calling thread for `duration`. Polling waits (a refresh waiter watching the
  // holder's lock) go through here, so a fake clock moves simulated time instead and the tests
  // of those waits never sleep.
  virtual void SleepFor(std::chrono::milliseconds duration) const = 0;
  // A clock that never steps, for durations (provider call latency); the default, whole
  // seconds of NowSeconds, serves fakes that only move time in seconds.
  virtual int64_t MonotonicNanos() const { return NowSeconds() * 1000000000; }
};

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with bytes from a CSPRNG; returns false when the generator fails.
  virtual bool Fill(uint8_t* out, size_t len) = 0;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;  // e.g. {"Authorization", "Basic ..."}
  std::string body;    // sent as-is; set Content-Type in headers
  long connect_timeout_ms = 5000;
  long timeout_ms = 10000;
};

struct HttpResponse {
  long status = 0;
  std::string content_type;
  std::string body;
  std::string cache_control;  // the Cache-Control header's value, as sent (JWKS max-age)
  std::string dpop_nonce;     // the DPoP-Nonce header's value (RFC 9449 section 8), as sent
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Transport failures (connect, TLS, timeout, body too large) are Errc::kHttpFailure; any HTTP
  // status, 4xx and 5xx included, is a successful exchange.
  virtual Result<HttpResponse> Send(const HttpRequest& req) = 0;
};

enum class LogLevel { kDebug, kInfo, kNotice, kWarn, kError };

class LogSink {
 public:
  virtual ~LogSink() = default;
  // `tag` is the number of a CPAnnnnn tag listed in docs/log-tags.md; each call site has its own.
  virtual void Log(LogLevel level, int tag, std::string_view message) = 0;
};

}  // namespace coinpay
