// The trust decision behind CoinpayTrustedProxy: who may say what the original scheme and
// host were, which of several proxies' values counts, and what happens to malformed values.
#include "core/proxy_origin.h"

#include "core/forwarded.h"

#include <gtest/gtest.h>

namespace coinpay {
namespace {

std::vector<CidrRange> Trusted(std::initializer_list<const char*> ranges) {
  std::vector<CidrRange> out;
  for (const char* r : ranges) {
    out.push_back(ParseCidr(r).value());
  }
  return out;
}

const std::vector<CidrRange> kProxy = Trusted({"10.0.0.0/8", "2001:db8::/32"});

RequestOrigin Decide(std::string_view peer, const ProxyHeaders& h, bool https = false,
                     std::string_view host = "internal:8080") {
  return EffectiveOrigin(peer, kProxy, h, https, host);
}

TEST(ProxyOrigin, TrustedProxyXForwardedHeadersGiveTheOriginalSchemeAndHost) {
  auto o = Decide("10.1.2.3", {.x_forwarded_proto = "https", .x_forwarded_host = "shop.example"});
  EXPECT_TRUE(o.https);
  EXPECT_EQ(o.host, "shop.example");
  EXPECT_TRUE(o.from_proxy);
  EXPECT_EQ(o.ignored, "");
}

TEST(ProxyOrigin, SameHeadersFromAnUntrustedPeerChangeNothing) {
  ProxyHeaders h{.forwarded = "proto=https;host=evil.example",
                 .x_forwarded_proto = "https",
                 .x_forwarded_host = "evil.example",
                 .x_forwarded_port = "443"};
  for (const char* peer : {"192.0.2.1", "11.0.0.1", "2001:db9::1", "", "not-an-ip"}) {
    auto o = Decide(peer, h);
    EXPECT_FALSE(o.https) << peer;
    EXPECT_EQ(o.host, "internal:8080") << peer;
    EXPECT_FALSE(o.from_proxy);
    EXPECT_EQ(o.ignored, "");
  }
}

TEST(ProxyOrigin, NoTrustedProxiesConfiguredIgnoresTheHeaders) {
  auto o = EffectiveOrigin("10.1.2.3", {}, {.x_forwarded_proto = "https"}, false, "h");
  EXPECT_FALSE(o.https);
  EXPECT_FALSE(o.from_proxy);
}

TEST(ProxyOrigin, Ipv6AndMappedPeersAreMatched) {
  EXPECT_TRUE(Decide("2001:db8::10", {.x_forwarded_proto = "https"}).https);
  EXPECT_TRUE(Decide("::ffff:10.0.0.5", {.x_forwarded_proto = "https"}).https);
}

TEST(ProxyOrigin, ForwardedWinsOverXForwarded) {
  auto o =
      Decide("10.0.0.1", {.forwarded = R"(for=192.0.2.60;proto=https;host="shop.example:8443")",
                          .x_forwarded_proto = "http",
                          .x_forwarded_host = "other.example"});
  EXPECT_TRUE(o.https);
  EXPECT_EQ(o.host, "shop.example:8443");
}

TEST(ProxyOrigin, ForwardedWithOnlyProtoKeepsTheHostHeader) {
  auto o = Decide("10.0.0.1", {.forwarded = "for=192.0.2.60;proto=https"}, false, "shop.example");
  EXPECT_TRUE(o.https);
  EXPECT_EQ(o.host, "shop.example");
}

TEST(ProxyOrigin, OnlyTheElementTheTrustedPeerAppendedCounts) {
  // The client wrote the first element itself; the proxy appended the second.
  auto o = Decide(
      "10.0.0.1",
      {.forwarded = "proto=https;host=evil.example, for=192.0.2.9;proto=http;host=shop.example"});
  EXPECT_FALSE(o.https);
  EXPECT_EQ(o.host, "shop.example");
  // The last element has no proto/host: nothing from the earlier ones is used either.
  auto bare = Decide("10.0.0.1", {.forwarded = "proto=https;host=evil.example, for=192.0.2.9"});
  EXPECT_FALSE(bare.https);
  EXPECT_EQ(bare.host, "internal:8080");
  EXPECT_FALSE(bare.from_proxy);
  // X-Forwarded-* lists: the last item each.
  auto x = Decide("10.0.0.1", {.x_forwarded_proto = "http, https",
                               .x_forwarded_host = "evil.example, shop.example",
                               .x_forwarded_port = "1, 8443"});
  EXPECT_TRUE(x.https);
  EXPECT_EQ(x.host, "shop.example:8443");
}

TEST(ProxyOrigin, ProtoIsCaseInsensitive) {
  EXPECT_TRUE(Decide("10.0.0.1", {.forwarded = "Proto=HTTPS"}).https);
  EXPECT_TRUE(Decide("10.0.0.1", {.x_forwarded_proto = "HttpS"}).https);
  EXPECT_FALSE(Decide("10.0.0.1", {.x_forwarded_proto = "HTTP"}, true).https);
}

TEST(ProxyOrigin, ForwardedPortJoinsTheHostUnlessDefault) {
  EXPECT_EQ(Decide("10.0.0.1", {.x_forwarded_proto = "https",
                                .x_forwarded_host = "a.example",
                                .x_forwarded_port = "443"})
                .host,
            "a.example");
  EXPECT_EQ(Decide("10.0.0.1", {.x_forwarded_proto = "http",
                                .x_forwarded_host = "a.example:9",
                                .x_forwarded_port = "8080"})
                .host,
            "a.example:8080");
  // Port only: it replaces the Host header's port.
  EXPECT_EQ(Decide("10.0.0.1", {.x_forwarded_port = "8443"}, false, "[2001:db8::1]:80").host,
            "[2001:db8::1]:8443");
}

TEST(ProxyOrigin, MalformedValuesAreIgnoredWholeWithTheReason) {
  struct Case {
    ProxyHeaders h;
    const char* reason;
  };
  std::string huge(kMaxForwardedBytes + 1, 'a');
  for (const auto& c : std::vector<Case>{
           {{.forwarded = "proto=ftp;host=shop.example"}, "proto is not http or https"},
           {{.forwarded = R"(proto=https;host="shop.example/evil")"}, "not a host name"},
           {{.forwarded = R"(proto=https;host="a b")"}, "not a host name"},
           {{.forwarded = R"(proto=https;host="shop.example:99999")"}, "not a host name"},
           {{.forwarded = R"(proto=https;host="[::1")"}, "not a host name"},
           {{.forwarded = R"(proto=https;host="[not-v6]")"}, "not a host name"},
           {{.forwarded = "proto=https;host=shop.example:443"}, "malformed"},
           {{.forwarded = huge}, "longer than"},
           {{.x_forwarded_proto = "https", .x_forwarded_host = "a\r\nb"}, "not a host name"},
           {{.x_forwarded_proto = "wss"}, "not http or https"},
           {{.x_forwarded_proto = "https", .x_forwarded_port = "0"}, "not a port"},
           {{.x_forwarded_proto = "https", .x_forwarded_port = "65536"}, "not a port"},
           {{.x_forwarded_proto = "https", .x_forwarded_port = "+443"}, "not a port"},
           {{.x_forwarded_proto = "https", .x_forwarded_host = "user@shop.example"},
            "not a host name"},
           {{.x_forwarded_proto = huge}, "longer than"},
       }) {
    auto o = Decide("10.0.0.1", c.h);
    EXPECT_FALSE(o.https) << c.reason;
    EXPECT_EQ(o.host, "internal:8080") << c.reason;
    EXPECT_FALSE(o.from_proxy) << c.reason;
    EXPECT_NE(o.ignored.find(c.reason), std::string::npos) << o.ignored;
    for (char ch : o.ignored) {
      EXPECT_GE(static_cast<unsigned char>(ch), 0x20) << "unescaped text in " << o.ignored;
    }
  }
}

TEST(ProxyOrigin, HostValidation) {
  for (const char* ok : {"shop.example", "shop.example:8443", "127.0.0.1", "127.0.0.1:80",
                         "[2001:db8::1]", "[2001:db8::1]:443", "a_b-c.d", "LOCALHOST"}) {
    EXPECT_TRUE(IsValidHost(ok)) << ok;
  }
  for (const char* bad : {"", ":80", "shop.example:", "shop.example:0", "a/b", "a\\b", "a b", "a@b",
                          "[2001:db8::1", "2001:db8::1", "[1.2.3.4]", "a%2eb", "a;b"}) {
    EXPECT_FALSE(IsValidHost(bad)) << bad;
  }
  EXPECT_FALSE(IsValidHost(std::string(256, 'a')));
}

TEST(ProxyOrigin, SignInOnTheRedirectUrisOriginIsNoMismatch) {
  EXPECT_EQ(SignInOriginMismatch(true, "shop.example", "https://shop.example"), std::nullopt);
  EXPECT_EQ(SignInOriginMismatch(true, "SHOP.example:443", "https://shop.example"), std::nullopt);
  // Ports are not compared: cookies do not care.
  EXPECT_EQ(SignInOriginMismatch(false, "127.0.0.1:8080", "http://127.0.0.1:9090"), std::nullopt);
  EXPECT_EQ(SignInOriginMismatch(false, "[::1]:80", "http://[::1]:8080"), std::nullopt);
  EXPECT_EQ(SignInOriginMismatch(false, "", "https://shop.example"), std::nullopt);
}

TEST(ProxyOrigin, SchemeOrHostMismatchNamesTheFixes) {
  auto scheme = SignInOriginMismatch(false, "shop.example", "https://shop.example");
  ASSERT_TRUE(scheme);
  EXPECT_NE(scheme->find("arrived as http://shop.example but CoinpayRedirectURI is on "
                         "https://shop.example"),
            std::string::npos)
      << *scheme;
  EXPECT_NE(scheme->find("CoinpayTrustedProxy"), std::string::npos);
  EXPECT_NE(scheme->find("UseCanonicalName"), std::string::npos);
  EXPECT_NE(scheme->find("correct CoinpayRedirectURI"), std::string::npos);
  auto host = SignInOriginMismatch(true, "internal:8080", "https://shop.example");
  ASSERT_TRUE(host);
  EXPECT_NE(host->find("https://internal:8080"), std::string::npos);
  auto evil = SignInOriginMismatch(true, "a\nb", "https://shop.example");
  ASSERT_TRUE(evil);
  EXPECT_EQ(evil->find('\n'), std::string::npos);
}

}  // namespace
}  // namespace coinpay
