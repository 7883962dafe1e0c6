// The module's own cookies, in one place: the session cookie and the sign-in attempt (login
// state) cookies. Their names and attributes, setting and deleting them, finding the session
// id in a request, and taking them out of the Cookie header before any application sees it.
//
//   a.set_cookies.push_back(SetSessionCookie(config, id, req.https));
//   if (auto kept = WithoutModuleCookies(config, cookie_header)) { ...replace the header... }
#pragma once

#include <optional>
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
struct ModuleCookies {
  std::vector<std::string_view> session_ids;
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
