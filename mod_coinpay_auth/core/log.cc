// Helpers for safe log lines.
#include "core/log.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/encoding.h"

namespace coinpay {
namespace {

bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

void AppendEscaped(std::string& out, unsigned char c) {
  constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
}

}  // namespace

void LogAt(LogSink& sink, LogLevel level, int tag, std::string_view message) {
  if (std::none_of(message.begin(), message.end(), IsControl)) {
    sink.Log(level, tag, message);
    return;
  }
  // A last defence: callers escape what they embed, so this copy is rare.
  std::string safe;
  safe.reserve(message.size() + 16);
  for (char c : message) {
    if (IsControl(c)) {
      AppendEscaped(safe, static_cast<unsigned char>(c));
    } else {
      safe += c;
    }
  }
  sink.Log(level, tag, safe);
}

std::string Untrusted(std::string_view text, size_t max) {
  std::string_view kept = text.substr(0, max);
  std::string out;
  out.reserve(kept.size() + 3);
  for (char c : kept) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      AppendEscaped(out, u);
    }
  }
  if (kept.size() < text.size()) {
    out += "...";
  }
  return out;
}

std::string TokenHint(std::string_view token) {
  // A hash prefix identifies the token across log lines without revealing any of it.
  return "sha256:" + Base64UrlEncode(Sha256(token)).substr(0, 10);
}

}  // namespace coinpay
