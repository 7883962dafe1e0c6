// The core's LogSink on httpd's error log: "CPAnnnnn: message", at the mapped level, with the
// client's address when there is a request.
#pragma once

#include <httpd.h>

#include "core/effects.h"

namespace coinpay::httpd {

class ServerLog final : public LogSink {
 public:
  explicit ServerLog(server_rec* s) : s_(s) {}
  void Log(LogLevel level, int tag, std::string_view message) override;

 private:
  server_rec* s_;
};

class RequestLog final : public LogSink {
 public:
  explicit RequestLog(request_rec* r) : r_(r) {}
  void Log(LogLevel level, int tag, std::string_view message) override;

 private:
  request_rec* r_;
};

}  // namespace coinpay::httpd
