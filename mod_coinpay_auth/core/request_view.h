// What the core sees of an HTTP request: plain views filled by the httpd glue. Nothing here
// outlives the request, and nothing here is trusted.
#pragma once

#include <string_view>

namespace coinpay {

struct ModuleCookies;    // core/session_cookie.h
struct SessionReadHint;  // core/session.h

struct RequestView {
  std::string_view method;  // "GET"
  bool https = false;
  std::string_view host;          // Host header (untrusted; never used to build redirects)
  std::string_view path;          // URL path as received, without query
  std::string_view query;         // raw query string, without '?'
  std::string_view unparsed_uri;  // path?query as received: the return URL for a login redirect
  std::string_view cookie;        // Cookie header
  // The module's cookies in `cookie`, when the glue has found them already (nullptr: not yet).
  const ModuleCookies* module_cookies = nullptr;
  // What the last request on this client connection read of its session (kept by the glue
  // per connection; nullptr: none kept), so the next one naming the same id starts there.
  SessionReadHint* session_hint = nullptr;
  std::string_view accept;
  std::string_view x_requested_with;
  std::string_view sec_fetch_mode;
  std::string_view sec_fetch_site;  // "same-origin", "cross-site"...; empty from old browsers
  std::string_view authorization;
  // The DPoP proof header(s), repeated lines joined by ", "; filled only where the location
  // takes DPoP (CoinpayBearerDPoP allowed or required).
  std::string_view dpop;
  std::string_view form_body;  // a POST's urlencoded body, read only by handlers that take one
};

}  // namespace coinpay
