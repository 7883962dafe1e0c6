// IP addresses and CIDR ranges for CoinpayTrustedProxy: parsed once from the configuration,
// matched against each connection's peer address. IPv4 is held as its IPv4-mapped IPv6 form
// (::ffff:a.b.c.d), so 127.0.0.1/32 also matches a peer reported as ::ffff:127.0.0.1.
//
//   auto range = ParseCidr("10.0.0.0/8");           // or "192.0.2.7", "2001:db8::/32"
//   bool trusted = AnyContains(ranges, "10.1.2.3");
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace coinpay {

struct IpAddress {
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 as ::ffff:a.b.c.d
  bool v4 = false;                  // written as a dotted quad
};

// A literal IPv4 (dotted quad) or IPv6 address; nullopt for anything else (names, zone ids,
// brackets, ports).
std::optional<IpAddress> ParseIp(std::string_view text);

struct CidrRange {
  IpAddress network;
  int prefix_bits = 128;  // over the 16-byte form: an IPv4 /n is 96 + n
  std::string text;       // as the operator wrote it, for messages
};

// "addr" (one address: /32 or /128) or "addr/bits". Refused, with the fix in the message:
// not an address, a prefix out of range, bits set after the prefix (a typo for one address
// or for the network), and /0 (it would trust every client).
Result<CidrRange> ParseCidr(std::string_view text);

bool Contains(const CidrRange& range, const IpAddress& ip);

// True when `peer` (a connection's address as text) is in one of `ranges`; false for an
// empty list or a peer that is not an address.
bool AnyContains(const std::vector<CidrRange>& ranges, std::string_view peer);

}  // namespace coinpay
