// Reads one small file an operator names in a directive (a page, a key) when the configuration
// is read, so a missing, unreadable or oversized file stops `apachectl -t` at its line with the
// fix named. The text is never logged.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace coinpay {

inline constexpr size_t kMaxSmallFileBytes = size_t{64} * 1024;

// The whole text of a regular file of at most kMaxSmallFileBytes, or an Errc::kConfig error
// naming the file: `what` says what the file should be ("an HTML file"), `too_large` why a
// larger one is wrong.
Result<std::string> ReadSmallFile(const std::string& path, std::string_view what,
                                  std::string_view too_large);

}  // namespace coinpay
