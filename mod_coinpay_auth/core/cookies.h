// Reading the Cookie header and writing Set-Cookie values with the attributes we always want.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/encoding.h"

namespace coinpay {

// Calls fn(name, value) for every name/value pair, in order, duplicates kept (a browser may
// send two of the same name); nothing allocated. Spaces around names and values are trimmed,
// and one pair of double quotes around a value removed (RFC 6265 section 4.1.1).
template <typename Fn>
void ForEachCookie(std::string_view h, Fn&& fn);
// The same pairs, collected.
std::vector<std::pair<std::string_view, std::string_view>> ParseCookieHeader(std::string_view h);

struct CookieAttrs {
  std::string path = "/";
  int64_t max_age = -1;  // -1: a session cookie (no Max-Age)
  bool secure = false;
  bool http_only = true;
  std::string same_site = "Lax";
};

std::string SetCookieValue(std::string_view name, std::string_view value, const CookieAttrs& a);
// Deletes with Max-Age=0 and an Expires in the past (curl only honours the former).
std::string DeleteCookieValue(std::string_view name, const CookieAttrs& a);

template <typename Fn>
void ForEachCookie(std::string_view h, Fn&& fn) {
  while (!h.empty()) {
    size_t semi = h.find(';');
    std::string_view part = TrimSpaces(h.substr(0, semi));
    h = semi == std::string_view::npos ? std::string_view{} : h.substr(semi + 1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      continue;
    }
    std::string_view value = TrimSpaces(part.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    fn(TrimSpaces(part.substr(0, eq)), value);
  }
}

}  // namespace coinpay
