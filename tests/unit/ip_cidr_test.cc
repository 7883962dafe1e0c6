// CoinpayTrustedProxy's address matching: IPv4, IPv6, IPv4-mapped IPv6, and the ranges an
// operator may not write.
#include "core/ip_cidr.h"

#include <gtest/gtest.h>

namespace coinpay {
namespace {

CidrRange Range(std::string_view text) {
  auto r = ParseCidr(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().detail);
  return r.ok() ? r.value() : CidrRange{};
}

bool In(std::string_view range, std::string_view peer) { return AnyContains({Range(range)}, peer); }

TEST(IpCidr, Ipv4RangeContainsItsAddressesOnly) {
  EXPECT_TRUE(In("10.0.0.0/8", "10.0.0.1"));
  EXPECT_TRUE(In("10.0.0.0/8", "10.255.255.255"));
  EXPECT_FALSE(In("10.0.0.0/8", "11.0.0.0"));
  EXPECT_FALSE(In("10.0.0.0/8", "9.255.255.255"));
  EXPECT_TRUE(In("192.168.4.0/22", "192.168.7.200"));
  EXPECT_FALSE(In("192.168.4.0/22", "192.168.8.1"));
  EXPECT_TRUE(In("172.16.0.0/12", "172.31.1.1"));
  EXPECT_FALSE(In("172.16.0.0/12", "172.32.0.1"));
}

TEST(IpCidr, BareAddressIsExactlyThatAddress) {
  EXPECT_TRUE(In("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(In("127.0.0.1", "127.0.0.2"));
  EXPECT_TRUE(In("2001:db8::7", "2001:db8::7"));
  EXPECT_TRUE(In("2001:db8::7", "2001:0db8:0:0:0:0:0:7"));
  EXPECT_FALSE(In("2001:db8::7", "2001:db8::8"));
  EXPECT_EQ(Range("127.0.0.1").prefix_bits, 128);
  EXPECT_EQ(Range("127.0.0.1/32").prefix_bits, 128);
}

TEST(IpCidr, Ipv6RangeContainsItsAddressesOnly) {
  EXPECT_TRUE(In("2001:db8::/32", "2001:db8:ffff::1"));
  EXPECT_FALSE(In("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(In("fd00::/8", "fdab:1234::9"));
  EXPECT_FALSE(In("fd00::/8", "fe80::1"));
  EXPECT_TRUE(In("::1", "::1"));
  EXPECT_TRUE(In("2001:db8::/127", "2001:db8::1"));
  EXPECT_FALSE(In("2001:db8::/127", "2001:db8::2"));
}

TEST(IpCidr, Ipv4MappedPeerMatchesIpv4Range) {
  // A dual-stack listener may report an IPv4 client as ::ffff:a.b.c.d.
  EXPECT_TRUE(In("127.0.0.1", "::ffff:127.0.0.1"));
  EXPECT_TRUE(In("10.0.0.0/8", "::ffff:10.1.2.3"));
  EXPECT_FALSE(In("10.0.0.0/8", "::ffff:11.1.2.3"));
  EXPECT_TRUE(In("::ffff:10.0.0.0/104", "10.9.9.9"));
  // Not the same as an IPv4-compatible or NAT64 address.
  EXPECT_FALSE(In("127.0.0.1", "::127.0.0.1"));
  EXPECT_FALSE(In("127.0.0.1", "64:ff9b::127.0.0.1"));
}

TEST(IpCidr, IPv4RangeDoesNotMatchOtherIpv6Peers) {
  EXPECT_FALSE(In("0.0.0.0/1", "::1"));
  EXPECT_FALSE(In("0.0.0.0/1", "2001:db8::1"));
}

TEST(IpCidr, PeerThatIsNoAddressIsNeverTrusted) {
  auto r = Range("10.0.0.0/8");
  EXPECT_FALSE(AnyContains({r}, ""));
  EXPECT_FALSE(AnyContains({r}, "10.0.0.1:80"));
  EXPECT_FALSE(AnyContains({r}, "[::1]"));
  EXPECT_FALSE(AnyContains({r}, "localhost"));
  EXPECT_FALSE(AnyContains({}, "10.0.0.1"));
}

TEST(IpCidr, SeveralRangesAnyMatches) {
  std::vector<CidrRange> list = {Range("10.0.0.0/8"), Range("2001:db8::/32"), Range("192.0.2.7")};
  EXPECT_TRUE(AnyContains(list, "192.0.2.7"));
  EXPECT_TRUE(AnyContains(list, "2001:db8::5"));
  EXPECT_TRUE(AnyContains(list, "10.3.3.3"));
  EXPECT_FALSE(AnyContains(list, "192.0.2.8"));
}

TEST(IpCidr, RefusesWhatIsNotAnAddressAndNamesTheFix) {
  for (const char* bad :
       {"", "localhost", "10.1", "010.0.0.1", "1.2.3.4.5", "256.0.0.1", "10.0.0.0/", "10.0.0.0/x",
        "[::1]", "::1%lo", "10.0.0.0 /8", "2001:db8::/32/1", "0x7f000001"}) {
    auto r = ParseCidr(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::kConfig);
    EXPECT_NE(r.error().detail.find("CPA0093"), std::string::npos) << r.error().detail;
    EXPECT_NE(r.error().detail.find("10.0.0.0/8"), std::string::npos) << r.error().detail;
  }
}

TEST(IpCidr, RefusesPrefixLongerThanTheAddress) {
  auto v4 = ParseCidr("10.0.0.0/33");
  ASSERT_FALSE(v4.ok());
  EXPECT_NE(v4.error().detail.find("from 1 to 32"), std::string::npos) << v4.error().detail;
  auto v6 = ParseCidr("2001:db8::/129");
  ASSERT_FALSE(v6.ok());
  EXPECT_NE(v6.error().detail.find("from 1 to 128"), std::string::npos) << v6.error().detail;
  EXPECT_FALSE(ParseCidr("10.0.0.0/-1").ok());
  EXPECT_FALSE(ParseCidr("10.0.0.0/0008").ok());
}

TEST(IpCidr, RefusesHostBitsAndSaysWhatToWrite) {
  auto r = ParseCidr("10.0.0.1/8");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("CPA00932"), std::string::npos);
  EXPECT_NE(r.error().detail.find("write 10.0.0.0/8"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("or 10.0.0.1 for that one address"), std::string::npos);
  auto v6 = ParseCidr("2001:db8::1/32");
  ASSERT_FALSE(v6.ok());
  EXPECT_NE(v6.error().detail.find("write 2001:db8::/32"), std::string::npos) << v6.error().detail;
}

TEST(IpCidr, RefusesRangeThatTrustsEveryone) {
  for (const char* all : {"0.0.0.0/0", "::/0"}) {
    auto r = ParseCidr(all);
    ASSERT_FALSE(r.ok()) << all;
    EXPECT_NE(r.error().detail.find("CPA00933"), std::string::npos);
    EXPECT_NE(r.error().detail.find("every client"), std::string::npos);
  }
}

TEST(IpCidr, MessageDoesNotCarryControlCharacters) {
  auto r = ParseCidr("10.0.0.0\n/8\x01");
  ASSERT_FALSE(r.ok());
  for (char c : r.error().detail) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20);
  }
}

}  // namespace
}  // namespace coinpay
