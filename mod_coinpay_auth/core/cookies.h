// Reading the Cookie header and writing Set-Cookie values with the attributes we always want.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coinpay {

// All name/value pairs, in order, duplicates kept (a browser may send two of the same name).
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

}  // namespace coinpay
