// Cookie header parsing (RFC 6265 section 5.2, lenient on spaces) and Set-Cookie building.
#include "core/cookies.h"

#include "core/encoding.h"

namespace coinpay {
namespace {

void AppendAttrs(std::string& out, const CookieAttrs& a) {
  out += "; Path=";
  out += a.path;
  if (a.max_age >= 0) {
    out += "; Max-Age=";
    out += std::to_string(a.max_age);
  }
  if (a.http_only) {
    out += "; HttpOnly";
  }
  if (a.secure) {
    out += "; Secure";
  }
  if (!a.same_site.empty()) {
    out += "; SameSite=";
    out += a.same_site;
  }
}

}  // namespace

std::vector<std::pair<std::string_view, std::string_view>> ParseCookieHeader(std::string_view h) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  ForEachCookie(
      h, [&](std::string_view name, std::string_view value) { out.emplace_back(name, value); });
  return out;
}

std::string SetCookieValue(std::string_view name, std::string_view value, const CookieAttrs& a) {
  std::string out;
  out.reserve(name.size() + value.size() + 64);
  out.append(name).append("=").append(value);
  AppendAttrs(out, a);
  return out;
}

std::string DeleteCookieValue(std::string_view name, const CookieAttrs& a) {
  CookieAttrs gone = a;
  gone.max_age = 0;
  std::string out(name);
  out += "=; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
  AppendAttrs(out, gone);
  return out;
}

}  // namespace coinpay
