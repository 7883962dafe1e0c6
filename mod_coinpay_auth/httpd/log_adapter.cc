// Log adapters. Messages from the core are already free of tokens and secrets.
#include "httpd/log_adapter.h"
#include "httpd/module.h"

#include <http_log.h>

namespace coinpay::httpd {
namespace {

int ApLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return APLOG_DEBUG;
    case LogLevel::kInfo:
      return APLOG_INFO;
    case LogLevel::kNotice:
      return APLOG_NOTICE;
    case LogLevel::kWarn:
      return APLOG_WARNING;
    case LogLevel::kError:
      return APLOG_ERR;
  }
  return APLOG_ERR;
}

}  // namespace

// APLOG_MARK and the level test are macros; the level check happens inside ap_log_*.
void ServerLog::Log(LogLevel level, int tag, std::string_view message) {
  ap_log_error(APLOG_MARK, ApLevel(level), 0, s_, "CPA%05d: %.*s", tag,
               static_cast<int>(message.size()), message.data());
}

void RequestLog::Log(LogLevel level, int tag, std::string_view message) {
  ap_log_rerror(APLOG_MARK, ApLevel(level), 0, r_, "CPA%05d: %.*s", tag,
                static_cast<int>(message.size()), message.data());
}

}  // namespace coinpay::httpd
