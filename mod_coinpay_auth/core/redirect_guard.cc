// Open-redirect defence. The rules are deliberately narrow: when unsure, refuse.
#include "core/redirect_guard.h"

#include <algorithm>

#include "core/encoding.h"

namespace coinpay {
namespace {

bool HasUnsafeByte(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x21 || c == 0x7f || c == '\\' || c >= 0x80;
  });
}

}  // namespace

std::optional<std::string> OriginOf(std::string_view url) {
  std::string lower = ToLower(url.substr(0, std::min<size_t>(url.size(), 8)));
  std::string scheme;
  if (lower.rfind("https://", 0) == 0) {
    scheme = "https";
  } else if (lower.rfind("http://", 0) == 0) {
    scheme = "http";
  } else {
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme.size() + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (authority.empty() || authority.find('@') != std::string_view::npos ||
      HasUnsafeByte(authority)) {
    return std::nullopt;
  }
  std::string host = ToLower(authority);
  size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']') == std::string::npos) {
    std::string port = host.substr(colon + 1);
    if (port.empty() || !std::all_of(port.begin(), port.end(), ::isdigit)) {
      return std::nullopt;
    }
    if ((scheme == "https" && port == "443") || (scheme == "http" && port == "80")) {
      host.resize(colon);
    }
  }
  return scheme + "://" + host;
}

std::optional<std::string> SafeRedirectTarget(std::string_view candidate,
                                              std::string_view own_origin,
                                              const std::vector<std::string>& allowed_origins) {
  if (candidate.empty() || candidate.size() > 2048 || HasUnsafeByte(candidate)) {
    return std::nullopt;
  }
  if (candidate[0] == '/') {
    // "//host" and "/\host" are network-path references to another origin.
    if (candidate.size() > 1 && (candidate[1] == '/' || candidate[1] == '\\')) {
      return std::nullopt;
    }
    return std::string(candidate);
  }
  auto origin = OriginOf(candidate);
  if (!origin) {
    return std::nullopt;  // relative paths, "http:evil", "javascript:", other schemes
  }
  if (*origin == own_origin ||
      std::find(allowed_origins.begin(), allowed_origins.end(), *origin) != allowed_origins.end()) {
    return std::string(candidate);
  }
  return std::nullopt;
}

}  // namespace coinpay
