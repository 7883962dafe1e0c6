// Which scheme and host a request really had: behind a TLS-terminating proxy or load balancer
// (CoinpayTrustedProxy) the connection says http://internal:8080 while the browser is at
// https://public. Only a peer in the trusted ranges may say so, with RFC 7239 Forwarded or,
// when that is absent, X-Forwarded-Proto / -Host / -Port.
//
//   RequestOrigin o = EffectiveOrigin(peer_ip, trusted, headers, {conn_https, host_header});
//   if (!o.ignored.empty()) { log at info: the proxy's headers were malformed and ignored }
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_cidr.h"

namespace coinpay {

// The proxy headers as received. Repeated header lines are joined with ", " first (they mean
// the same as one comma-separated line).
struct ProxyHeaders {
  std::string_view forwarded = {};
  std::string_view x_forwarded_proto = {};
  std::string_view x_forwarded_host = {};
  std::string_view x_forwarded_port = {};
};

struct RequestOrigin {
  bool https = false;
  std::string host;         // as a Host header: name, IPv4 or [IPv6], optional :port
  bool from_proxy = false;  // a trusted proxy's headers decided scheme or host
  std::string ignored;      // non-empty: a trusted proxy's headers were malformed (why; escaped)
};

// The rule: a peer outside `trusted` (or an empty list) changes nothing, whatever it sends.
// A trusted peer's Forwarded header wins over X-Forwarded-*; of a list (several proxies each
// appending), only the last element counts: the one the trusted peer itself appended, since
// anyone before it, the client included, could have written the others. A malformed value
// (unknown proto, a host with characters no host has, a port out of range, an over-long
// header) makes the request keep the connection's own scheme and host: the request goes on
// (a proxy's mistake must not lock every user out), and nothing a client forged is believed.
RequestOrigin EffectiveOrigin(std::string_view peer_ip, const std::vector<CidrRange>& trusted,
                              const ProxyHeaders& headers, bool connection_https,
                              std::string_view host_header);

// A Host-header value fit to be believed: a DNS name (letters, digits, '-', '.', '_'), an
// IPv4 address or a bracketed IPv6 address, then optionally ':' and a port 1-65535.
bool IsValidHost(std::string_view host);

// When a sign-in request (login or callback) looks like another site than CoinpayRedirectURI's
// origin (scheme or host name differ; ports are not compared, cookies ignore them), the
// warning to log, naming the fixes: the login-state cookie set on one will not reach the
// other. nullopt when they match.
std::optional<std::string> SignInOriginMismatch(bool https, std::string_view host,
                                                std::string_view redirect_origin);

}  // namespace coinpay
