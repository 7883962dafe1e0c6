// Base64url strictness, percent-decoding and query parsing: malformed input is refused, never
// repaired.
#include "core/encoding.h"

#include <gtest/gtest.h>

namespace coinpay {
namespace {

TEST(Base64Url, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

TEST(Base64Url, UsesUrlAlphabetNotStandardOne) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64Url, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  for (size_t len = 0; len <= all.size(); len += 37) {
    std::string part = all.substr(0, len);
    auto back = Base64UrlDecode(Base64UrlEncode(part));
    ASSERT_TRUE(back.has_value()) << len;
    EXPECT_EQ(*back, part);
  }
}

TEST(Base64Url, RefusesPadding) { EXPECT_FALSE(Base64UrlDecode("Zg==").has_value()); }

TEST(Base64Url, RefusesStandardAlphabetCharacters) {
  EXPECT_FALSE(Base64UrlDecode("+/8").has_value());
  EXPECT_TRUE(Base64UrlDecode("-_8").has_value());
}

TEST(Base64Url, RefusesWhitespaceAndNul) {
  EXPECT_FALSE(Base64UrlDecode("Zm9v Yg").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9v\nYg").has_value());
  EXPECT_FALSE(Base64UrlDecode(std::string_view("Zm9v\0Yg", 7)).has_value());
}

TEST(Base64Url, RefusesImpossibleLength) { EXPECT_FALSE(Base64UrlDecode("Zm9vY").has_value()); }

TEST(Base64Url, RefusesNonCanonicalTrailingBits) {
  // "Zg" is "f"; "Zh" carries the same byte with non-zero leftover bits.
  EXPECT_TRUE(Base64UrlDecode("Zg").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9=").has_value());
}

TEST(Base64Url, ValidityCheckRefusesAnyForeignByteAnywhereInASessionId) {
  for (size_t i = 0; i < 43; ++i) {
    for (char c : {'=', '+', '/', ' ', '\0', '\x80', '\xc3', '\xff'}) {
      std::string s(43, 'A');
      s[i] = c;
      EXPECT_FALSE(IsBase64Url(s)) << i << " " << static_cast<int>(c);
    }
  }
  EXPECT_TRUE(IsBase64Url(std::string(43, 'A')));
}

// The session cookie check uses IsBase64Url on every request: it must agree with the decoder
// on every string, canonical or not.
TEST(Base64Url, ValidityCheckAgreesWithTheDecoder) {
  const std::string alphabet = "AQgwBz-_+/= ";
  std::vector<std::string> samples = {"", "Zg", "Zh", "Zm8", "Zm9", "Zm9v", "Zm9vY", "Zg==",
                                      std::string(43, 'A'), std::string(42, 'A') + "B",
                                      std::string(42, 'A') + "E"};
  for (char a : alphabet) {
    for (char b : alphabet) {
      for (char c : alphabet) {
        samples.push_back({a, b});
        samples.push_back({a, b, c});
        samples.push_back(std::string("Zm9v") + a + b + c);
      }
    }
  }
  for (const std::string& s : samples) {
    EXPECT_EQ(IsBase64Url(s), Base64UrlDecode(s).has_value()) << s;
  }
}

TEST(UrlEncode, PassesUnreservedAndEscapesTheRest) {
  EXPECT_EQ(UrlEncode("aZ09-_.~"), "aZ09-_.~");
  EXPECT_EQ(UrlEncode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
}

TEST(UrlDecode, DecodesEscapesAndPlus) {
  EXPECT_EQ(UrlDecode("a%20b+c%2f").value(), "a b c/");
  EXPECT_EQ(UrlDecode("a+b", false).value(), "a+b");
}

TEST(UrlDecode, RefusesMalformedEscapes) {
  EXPECT_FALSE(UrlDecode("%").has_value());
  EXPECT_FALSE(UrlDecode("%2").has_value());
  EXPECT_FALSE(UrlDecode("abc%").has_value());
  EXPECT_FALSE(UrlDecode("%zz").has_value());
  EXPECT_FALSE(UrlDecode("%2g").has_value());
  EXPECT_FALSE(UrlDecode("%%41").has_value());
}

TEST(UrlDecode, DecodesEscapeAtVeryEnd) { EXPECT_EQ(UrlDecode("x%41").value(), "xA"); }

TEST(ParseQuery, ParsesPairsInOrderKeepingDuplicates) {
  auto q = ParseQuery("a=1&b=two%20words&a=3&flag&&c=");
  ASSERT_TRUE(q.has_value());
  Params want = {{"a", "1"}, {"b", "two words"}, {"a", "3"}, {"flag", ""}, {"c", ""}};
  EXPECT_EQ(*q, want);
}

TEST(ParseQuery, RefusesAMalformedEscapeAnywhere) {
  EXPECT_FALSE(ParseQuery("a=1&b=%G1").has_value());
  EXPECT_FALSE(ParseQuery("a%=1").has_value());
  EXPECT_FALSE(ParseQuery("state=abc%2").has_value());
}

TEST(ParseQuery, DecodesEncodedTabSoCallersSeeIt) {
  auto q = ParseQuery("return_to=/%09/evil");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ((*q)[0].second, "/\t/evil");
}

TEST(ParseQuery, EmptyQueryIsEmptyList) {
  auto q = ParseQuery("");
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(q->empty());
}

TEST(EncodeForm, RoundTripsThroughParseQuery) {
  Params p = {
      {"redirect_uri", "https://x.example/cb?a=b&c"}, {"scope", "openid email"}, {"weird", "+%&="}};
  auto back = ParseQuery(EncodeForm(p));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, p);
}

TEST(HtmlEscape, EscapesMarkupCharacters) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(IEquals, ComparesAsciiCaseInsensitively) {
  EXPECT_TRUE(IEquals("Bearer", "bEARER"));
  EXPECT_FALSE(IEquals("Bearer", "Bearer "));
  EXPECT_EQ(ToLower("HTTPS://Ex.COM"), "https://ex.com");
}

}  // namespace
}  // namespace coinpay
