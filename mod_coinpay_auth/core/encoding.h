// Text encodings the protocol needs: base64url, URL (percent) encoding, query strings, HTML escape.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coinpay {

std::string Base64UrlEncode(std::string_view bytes);
// Accepts unpadded base64url only; nullopt on any other character.
std::optional<std::string> Base64UrlDecode(std::string_view text);
// True exactly when Base64UrlDecode(text) would succeed, without building the bytes.
bool IsBase64Url(std::string_view text);
std::string Base64Encode(std::string_view bytes);  // standard alphabet, padded

// RFC 3986 unreserved characters pass; everything else is %XX (form encoding: space as %20).
std::string UrlEncode(std::string_view s);
// Decodes %XX and (for forms) '+' as space; nullopt on a malformed escape.
std::optional<std::string> UrlDecode(std::string_view s, bool plus_is_space = true);
// A hexadecimal digit's value, or -1 for any other character (either case).
int HexValue(char c);

using Params = std::vector<std::pair<std::string, std::string>>;
// Parses "a=1&b=2"; nullopt when an escape is malformed.
std::optional<Params> ParseQuery(std::string_view query);
// "a=1&b=2" with every name and value UrlEncode'd.
std::string EncodeForm(const Params& params);

// Minimal HTML escaping for text placed into our pages.
std::string HtmlEscape(std::string_view s);

// A provider's error code (e.g. "invalid_grant") as it may appear in our logs: kept when it is
// plain letters and underscores, else "unreadable".
std::string SafeErrorCode(std::string_view code);

// `s` without leading and trailing spaces and tabs (HTTP's optional whitespace).
// Inline: the Cookie header's every name and value goes through it on every request.
inline std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IEquals(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);

}  // namespace coinpay
