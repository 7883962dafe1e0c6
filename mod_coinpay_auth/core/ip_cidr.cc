// Address parsing with inet_pton (strict: no octal, no short forms like 10.1) and prefix
// matching over 16 bytes.
#include "core/ip_cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace coinpay {
namespace {

constexpr size_t kMaxAddressText = 64;  // longer than any address inet_pton accepts

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, kMaxAddressText)) {
    auto u = static_cast<unsigned char>(c);
    out += u >= 0x20 && u < 0x7f ? c : '?';
  }
  if (text.size() > kMaxAddressText) {
    out += "...";
  }
  return out + "\"";
}

// The address with every bit after `bits` cleared.
IpAddress Masked(IpAddress ip, int bits) {
  for (int i = 0; i < 16; ++i) {
    int keep = bits - (i * 8);
    auto& b = ip.bytes[static_cast<size_t>(i)];
    if (keep <= 0) {
      b = 0;
    } else if (keep < 8) {
      b = static_cast<uint8_t>(b & (0xff << (8 - keep)));
    }
  }
  return ip;
}

std::string Text(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip.v4) {
    inet_ntop(AF_INET, ip.bytes.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof(buf));
  }
  return buf;
}

}  // namespace

std::optional<IpAddress> ParseIp(std::string_view text) {
  if (text.empty() || text.size() >= kMaxAddressText) {
    return std::nullopt;
  }
  char buf[kMaxAddressText] = {};
  std::memcpy(buf, text.data(), text.size());
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, ip.bytes.data() + 12) != 1) {
      return std::nullopt;
    }
    ip.bytes[10] = 0xff;
    ip.bytes[11] = 0xff;
    ip.v4 = true;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) {
    return std::nullopt;
  }
  return ip;
}

Result<CidrRange> ParseCidr(std::string_view text) {
  constexpr char kExamples[] =
      "write an address or a range such as 192.0.2.7, 10.0.0.0/8 or "
      "2001:db8::/32";
  size_t slash = text.find('/');
  auto ip = ParseIp(text.substr(0, slash));
  if (!ip) {
    return Error{Errc::kConfig, Quoted(text) + " is not an IP address (CPA00930): " + kExamples};
  }
  int width = ip->v4 ? 32 : 128;
  int bits = width;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    const char* end = digits.data() + digits.size();
    auto [p, ec] = std::from_chars(digits.data(), end, bits);
    if (digits.empty() || digits.size() > 3 || ec != std::errc() || p != end || bits < 0 ||
        bits > width) {
      return Error{Errc::kConfig, Quoted(text) + ": the prefix length must be a number from 1 to " +
                                      std::to_string(width) + " (CPA00931): " + kExamples};
    }
  }
  if (bits == 0) {
    return Error{Errc::kConfig,
                 Quoted(text) +
                     " would trust every client, who could then claim any scheme and host "
                     "(CPA00933): list only your proxies' or load balancers' addresses"};
  }
  int full = ip->v4 ? bits + 96 : bits;
  IpAddress network = Masked(*ip, full);
  if (network.bytes != ip->bytes) {
    return Error{Errc::kConfig, Quoted(text) + " has bits set after its /" + std::to_string(bits) +
                                    " prefix (CPA00932): write " + Text(network) + "/" +
                                    std::to_string(bits) + " for the range, or " + Text(*ip) +
                                    " for that one address"};
  }
  return CidrRange{network, full, std::string(text)};
}

bool Contains(const CidrRange& range, const IpAddress& ip) {
  return Masked(ip, range.prefix_bits).bytes == range.network.bytes;
}

bool AnyContains(const std::vector<CidrRange>& ranges, std::string_view peer) {
  if (ranges.empty()) {
    return false;
  }
  auto ip = ParseIp(peer);
  if (!ip) {
    return false;
  }
  for (const auto& r : ranges) {
    if (Contains(r, *ip)) {
      return true;
    }
  }
  return false;
}

}  // namespace coinpay
