// Reads an operator's private key file (CoinpayPrivateKeyFile) when the configuration is read,
// so a missing or unreadable file stops `apachectl -t` at its line. The core parses the text
// (core/directive_kinds.h PrivateKeyFiles); the text itself is never logged.
#pragma once

#include <string>

#include "core/result.h"

namespace coinpay {

// The file's text (at most 64 KiB, a regular file), or an Errc::kConfig error that names the
// file and the fix; the directive name is added by the glue.
Result<std::string> ReadPrivateKeyFile(const std::string& path);

}  // namespace coinpay
