// Helpers for safe log lines.
#include "core/log.h"

#include "core/crypto.h"
#include "core/encoding.h"

namespace coinpay {

std::string TokenHint(std::string_view token) {
  // A hash prefix identifies the token across log lines without revealing any of it.
  return "sha256:" + Base64UrlEncode(Sha256(token)).substr(0, 10);
}

}  // namespace coinpay
