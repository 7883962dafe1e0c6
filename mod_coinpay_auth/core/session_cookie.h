// The module's own cookies, in one place: the session cookie and the sign-in attempt (login
// state) cookies. Their names and attributes, setting and deleting them, finding the session
// id in a request, and taking them out of the Cookie header before any application sees it.
//
//   a.set_cookies.push_back(SetSessionCookie(config, id, req.https));
//   if (auto kept = WithoutModuleCookies(config, cookie_header)) { ...replace the header... }
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/cookies.h"
#include "core/provider_config.h"

namespace coinpay {

// HttpOnly, SameSite=Lax, Path=/; Secure when the site is https or this request came over TLS.
CookieAttrs ModuleCookieAttrs(const SessionConfig& c, bool https);

std::string SetSessionCookie(const SessionConfig& c, std::string_view session_id, bool https);
std::string DeleteSessionCookie(const SessionConfig& c, bool https);
// What one pass over a Cookie header finds of the module's cookies: the values of every
// session cookie that have the shape of a session id (in order), and whether the header holds
// any of the module's cookies (session or login) and any other cookie. The authn hook finds
// them once; the fixups hook strips the same header with what was found (httpd glue).
// The session ids of one header, in order: a request carries one (rarely two), kept inline so
// finding them allocates nothing; a third moves them all into a vector.
class SessionIdList {
 public:
  void push_back(std::string_view id);
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view operator[](size_t i) const { return data()[i]; }
  const std::string_view* begin() const { return data(); }
  const std::string_view* end() const { return data() + size_; }
  std::span<const std::string_view> span() const { return {data(), size_}; }

 private:
  const std::string_view* data() const { return more_.empty() ? inline_.data() : more_.data(); }
  std::array<std::string_view, 2> inline_{};
  std::vector<std::string_view> more_;  // every id, once there are more than inline_ holds
  size_t size_ = 0;
};

struct ModuleCookies {
  SessionIdList session_ids;
  bool any_module = false;
  bool any_other = false;
};
ModuleCookies FindModuleCookies(const SessionConfig& c, std::string_view header);
// FindModuleCookies(c, header).session_ids.
std::vector<std::string_view> SessionIdsIn(const SessionConfig& c, std::string_view header);

// The login cookie's name carries a prefix of the state, so the callback finds its cookie.
std::string LoginCookieName(const SessionConfig& c, std::string_view state);
bool IsLoginCookie(const SessionConfig& c, std::string_view name);

// The Cookie header without the session and login cookies; nullopt when it holds none of them
// (leave the header as it is). An empty string: nothing else was in it (drop the header).
// `found`: what FindModuleCookies found in this same header, so it is not parsed again unless
// other cookies must be kept.
std::optional<std::string> WithoutModuleCookies(const SessionConfig& c, std::string_view header,
                                                const ModuleCookies* found = nullptr);

}  // namespace coinpay
