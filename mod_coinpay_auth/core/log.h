// Logging from the core: every call site passes its own CPA tag number (docs/log-tags.md).
#pragma once

#include <string>
#include <string_view>

#include "coinpay_auth/effects.h"

namespace coinpay {

inline void LogAt(LogSink& sink, LogLevel level, int tag, std::string_view message) {
  sink.Log(level, tag, message);
}

// The first characters of a token, enough to correlate log lines, never enough to use it.
std::string TokenHint(std::string_view token);

}  // namespace coinpay
