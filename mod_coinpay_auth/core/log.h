// Logging from the core: every call site passes its own CPA tag number (docs/log-tags.md).
// Text that came from a request or a token goes through Untrusted before it joins a message;
// LogAt still turns any control character left into an escape, so no line can be split.
//
//   LogAt(log, LogLevel::kInfo, 143, "signed out sub=" + Untrusted(record.sub, 128));
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/effects.h"

namespace coinpay {

void LogAt(LogSink& sink, LogLevel level, int tag, std::string_view message);

// `text` fit for a log line: printable ASCII kept, every other byte (and '\') as \xNN, and
// only the first `max` bytes, followed by "..." when there were more.
std::string Untrusted(std::string_view text, size_t max = 64);

// The first characters of a token, enough to correlate log lines, never enough to use it.
std::string TokenHint(std::string_view token);

}  // namespace coinpay
