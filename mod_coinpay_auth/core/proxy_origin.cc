// The trust decision and the values' validation for CoinpayTrustedProxy.
#include "core/proxy_origin.h"

#include <algorithm>
#include <charconv>

#include "core/encoding.h"
#include "core/forwarded.h"
#include "core/log.h"

namespace coinpay {
namespace {

constexpr size_t kMaxHostChars = 255;

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) {
      return false;
    }
  }
  return true;
}

// The last comma-separated item of an X-Forwarded-* value: what the trusted peer appended.
std::string_view LastItem(std::string_view list) {
  size_t comma = list.rfind(',');
  return TrimSpaces(comma == std::string_view::npos ? list : list.substr(comma + 1));
}

std::optional<int> ParsePort(std::string_view s) {
  int port = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, port);
  if (s.empty() || s.size() > 5 || ec != std::errc() || p != end || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

// Where the port of a Host-style value starts (its ':'), or npos.
size_t PortColon(std::string_view host) {
  size_t close = host.rfind(']');
  size_t colon = host.rfind(':');
  if (colon == std::string_view::npos || (close != std::string_view::npos && colon < close)) {
    return std::string_view::npos;
  }
  return colon;
}

std::optional<bool> ParseProto(std::string_view proto) {
  if (EqualsNoCase(proto, "https")) {
    return true;
  }
  if (EqualsNoCase(proto, "http")) {
    return false;
  }
  return std::nullopt;
}

// What a trusted proxy claims, before it replaces the connection's values.
struct Claim {
  std::optional<bool> https;
  std::string host;  // empty: not claimed
  std::string port;  // empty: not claimed (X-Forwarded-Port)
};

std::string Bad(std::string_view what, std::string_view value) {
  return std::string(what) + " \"" + Untrusted(value) + "\"";
}

// Fills `claim` from the last Forwarded element; returns why not, when it cannot.
std::string FromForwarded(std::string_view header, Claim& claim) {
  auto elements = ParseForwarded(header);
  if (!elements) {
    return "Forwarded header malformed (" + elements.error().detail + ")";
  }
  if (elements.value().empty()) {
    return {};
  }
  const ForwardedElement& last = elements.value().back();
  if (const std::string* proto = FindParam(last, "proto")) {
    claim.https = ParseProto(*proto);
    if (!claim.https) {
      return Bad("Forwarded proto is not http or https:", *proto);
    }
  }
  if (const std::string* host = FindParam(last, "host")) {
    if (!IsValidHost(*host)) {
      return Bad("Forwarded host is not a host name:", *host);
    }
    claim.host = *host;
  }
  return {};
}

std::string FromXForwarded(const ProxyHeaders& h, Claim& claim) {
  for (std::string_view v : {h.x_forwarded_proto, h.x_forwarded_host, h.x_forwarded_port}) {
    if (v.size() > kMaxForwardedBytes) {
      return "an X-Forwarded-* header is longer than " + std::to_string(kMaxForwardedBytes) +
             " bytes";
    }
  }
  if (!h.x_forwarded_proto.empty()) {
    std::string_view proto = LastItem(h.x_forwarded_proto);
    claim.https = ParseProto(proto);
    if (!claim.https) {
      return Bad("X-Forwarded-Proto is not http or https:", proto);
    }
  }
  if (!h.x_forwarded_host.empty()) {
    std::string_view host = LastItem(h.x_forwarded_host);
    if (!IsValidHost(host)) {
      return Bad("X-Forwarded-Host is not a host name:", host);
    }
    claim.host = host;
  }
  if (!h.x_forwarded_port.empty()) {
    std::string_view port = LastItem(h.x_forwarded_port);
    if (!ParsePort(port)) {
      return Bad("X-Forwarded-Port is not a port from 1 to 65535:", port);
    }
    claim.port = port;
  }
  return {};
}

bool IsDnsName(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    if (!IsAlnum(c) && c != '-' && c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

// "[v6]" with a valid IPv6 address inside.
bool IsBracketedV6(std::string_view name) {
  if (name.size() < 3 || name.front() != '[' || name.back() != ']') {
    return false;
  }
  auto ip = ParseIp(name.substr(1, name.size() - 2));
  return ip && !ip->v4;
}

}  // namespace

bool IsValidHost(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostChars) {
    return false;
  }
  size_t colon = PortColon(host);
  std::string_view name = host.substr(0, colon);
  if (colon != std::string_view::npos && !ParsePort(host.substr(colon + 1))) {
    return false;
  }
  return IsDnsName(name) || IsBracketedV6(name);
}

RequestOrigin EffectiveOrigin(std::string_view peer_ip, const std::vector<CidrRange>& trusted,
                              const ProxyHeaders& headers, bool connection_https,
                              std::string_view host_header) {
  RequestOrigin out;
  out.https = connection_https;
  out.host = std::string(host_header);
  // A peer outside the list is treated as if it sent none of these headers: it may be a
  // client pretending to be a proxy.
  if (!AnyContains(trusted, peer_ip)) {
    return out;
  }
  Claim claim;
  std::string why = !headers.forwarded.empty() ? FromForwarded(headers.forwarded, claim)
                                               : FromXForwarded(headers, claim);
  if (!why.empty()) {
    out.ignored = std::move(why);
    return out;
  }
  if (!claim.https && claim.host.empty() && claim.port.empty()) {
    return out;
  }
  out.from_proxy = true;
  if (claim.https) {
    out.https = *claim.https;
  }
  if (!claim.host.empty()) {
    out.host = std::move(claim.host);
  }
  if (!claim.port.empty()) {
    out.host.resize(std::min(out.host.size(), PortColon(out.host)));
    bool default_port = (out.https && claim.port == "443") || (!out.https && claim.port == "80");
    if (!default_port) {
      out.host += ":" + claim.port;
    }
  }
  return out;
}

std::optional<std::string> SignInOriginMismatch(bool https, std::string_view host,
                                                std::string_view redirect_origin) {
  size_t sep = redirect_origin.find("://");
  if (sep == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view want_scheme = redirect_origin.substr(0, sep);
  std::string_view want_authority = redirect_origin.substr(sep + 3);
  std::string_view want_host = want_authority.substr(0, PortColon(want_authority));
  std::string_view got_host = host.substr(0, PortColon(host));
  std::string_view got_scheme = https ? "https" : "http";
  if (host.empty()) {
    return std::nullopt;  // no Host header (HTTP/1.0): nothing to compare
  }
  bool same_host = EqualsNoCase(got_host, want_host);
  if (got_scheme == want_scheme && same_host) {
    return std::nullopt;
  }
  std::string out = "a sign-in request arrived as " + std::string(got_scheme) + "://" +
                    Untrusted(host, 128) + " but CoinpayRedirectURI is on " +
                    std::string(redirect_origin);
  if (!same_host) {
    out +=
        ": the login-state cookie set for one host is not sent to the other, so the callback "
        "fails (\"state cookie not found\").";
  } else {
    out +=
        ": the login-state cookie is Secure when either is https, and browsers do not send "
        "it over (or take it from) plain http, so the callback can fail (\"state cookie not "
        "found\"); behind a TLS-terminating proxy that is not trusted, the module sees http "
        "although browsers use https.";
  }
  return out +
         " Fix: behind a proxy or load balancer, list its address with CoinpayTrustedProxy and "
         "have it send X-Forwarded-Proto and X-Forwarded-Host (or Forwarded); otherwise make "
         "users reach the redirect URI's host (ServerName with UseCanonicalName On, "
         "ProxyPreserveHost On at a proxy) or correct CoinpayRedirectURI. (Logged once per "
         "process and site.)";
}

}  // namespace coinpay
