// The RFC 7239 Forwarded header: a list of elements (one per proxy, comma separated), each a
// set of name=value pairs (separated by ';'), values a token or a quoted-string.
//
//   auto elements = ParseForwarded(R"(for=192.0.2.60;proto=http,
//   for="[2001:db8::1]";proto=https)");
//   // elements->back() is what the last proxy (the one that talks to us) appended.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace coinpay {

struct ForwardedPair {
  std::string name;   // lower-cased (names are case-insensitive)
  std::string value;  // quotes and quoted-pair escapes removed
  bool operator==(const ForwardedPair&) const = default;
};
using ForwardedElement = std::vector<ForwardedPair>;

// Longer headers are refused whole: a proxy appends one short element, so kilobytes of them
// are a client's doing.
constexpr size_t kMaxForwardedBytes = 4096;

// The elements in order; empty elements (", ,") are skipped as RFC 9110's list rule allows.
// Any syntax error (a pair without '=', an unterminated quote, a control character, a name
// twice in one element, an empty value token) refuses the whole header: a parser that guesses
// past an error could pick a value the proxy never wrote. The error's detail is safe to log.
Result<std::vector<ForwardedElement>> ParseForwarded(std::string_view header);

// The value of `name` (lower-case) in `element`, or nullptr.
const std::string* FindParam(const ForwardedElement& element, std::string_view name);

}  // namespace coinpay
