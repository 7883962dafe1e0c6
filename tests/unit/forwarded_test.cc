// The RFC 7239 Forwarded parser: the RFC's own examples, quoting, IPv6 for=, several elements
// and garbage.
#include "core/forwarded.h"

#include <gtest/gtest.h>

namespace coinpay {
namespace {

std::vector<ForwardedElement> Parse(std::string_view header) {
  auto r = ParseForwarded(header);
  EXPECT_TRUE(r.ok()) << header << ": " << (r.ok() ? "" : r.error().detail);
  return r.ok() ? r.value() : std::vector<ForwardedElement>{};
}

TEST(Forwarded, ParsesTheRfc7239Examples) {
  // RFC 7239 section 4.
  auto a = Parse(R"(for="_gazonk")");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0], (ForwardedElement{{"for", "_gazonk"}}));

  auto b = Parse(R"(For="[2001:db8:cafe::17]:4711")");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0], (ForwardedElement{{"for", "[2001:db8:cafe::17]:4711"}}));

  auto c = Parse("for=192.0.2.60;proto=http;by=203.0.113.43");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0],
            (ForwardedElement{{"for", "192.0.2.60"}, {"proto", "http"}, {"by", "203.0.113.43"}}));

  auto d = Parse("for=192.0.2.43, for=198.51.100.17");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(*FindParam(d[0], "for"), "192.0.2.43");
  EXPECT_EQ(*FindParam(d[1], "for"), "198.51.100.17");

  // Section 7.1's example of a list with an IPv6 and an obfuscated element.
  auto e = Parse(R"(for=192.0.2.43,for="[2001:db8:cafe::17]",for=unknown)");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(*FindParam(e[1], "for"), "[2001:db8:cafe::17]");
  EXPECT_EQ(*FindParam(e[2], "for"), "unknown");
}

TEST(Forwarded, NamesAreCaseInsensitiveValuesKeptAsWritten) {
  auto e = Parse("PROTO=HTTPS;Host=Example.COM");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(*FindParam(e[0], "proto"), "HTTPS");
  EXPECT_EQ(*FindParam(e[0], "host"), "Example.COM");
}

TEST(Forwarded, QuotedStringsMayHoldSeparatorsAndEscapes) {
  auto e = Parse(R"(host="a,b;c=d", proto=https;ext="x\"y\\z")");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(*FindParam(e[0], "host"), "a,b;c=d");
  EXPECT_EQ(*FindParam(e[1], "ext"), "x\"y\\z");
  auto q = Parse(R"(host="example.com:8443")");
  EXPECT_EQ(*FindParam(q[0], "host"), "example.com:8443");
  EXPECT_EQ(*FindParam(Parse(R"(x="")")[0], "x"), "");
}

TEST(Forwarded, WhitespaceAroundSeparatorsAndEmptyElementsAreAllowed) {
  auto e = Parse("  for=a ; proto=http ,\t, ,for=b;proto=https ,  ");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(*FindParam(e[1], "proto"), "https");
  EXPECT_TRUE(Parse("").empty());
  EXPECT_TRUE(Parse(" , ,").empty());
  EXPECT_EQ(Parse("for=a;;proto=http").at(0).size(), 2u);
}

TEST(Forwarded, RefusesGarbageWhole) {
  for (const char* bad : {
           "for",                     // no '='
           "for=",                    // empty token
           "=x",                      // no name
           "for =x",                  // space before '='
           "for= x",                  // space after '='
           R"(host="unterminated)",   // quote never closed
           R"(host="a"b)",            // junk after a quoted-string
           "host=example.com:8080",   // ':' is not a token character: must be quoted
           "for=[2001:db8::1]",       // same for IPv6
           "proto=https;proto=http",  // a name twice in one element
           "host=a b",                // two tokens
           "host=\"a\x01\"",          // control character
           "host=\"a\\\x01\"",        // escaped control character
           "host=\"a\\",              // escape at the end
           "pro to=https", "proto=http\x7f",
           "proto=h\xc3\xa9",  // non-ASCII outside quotes
       }) {
    auto r = ParseForwarded(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(Forwarded, RefusesOverLongHeader) {
  std::string many;
  while (many.size() <= kMaxForwardedBytes) {
    many += "for=192.0.2.1, ";
  }
  auto r = ParseForwarded(many);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("longer than"), std::string::npos);
}

TEST(Forwarded, ObsTextAllowedInsideQuotes) {
  auto e = Parse("ext=\"caf\xc3\xa9\"");
  EXPECT_EQ(*FindParam(e.at(0), "ext"), "caf\xc3\xa9");
}

}  // namespace
}  // namespace coinpay
