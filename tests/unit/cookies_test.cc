// Cookie header parsing and Set-Cookie attributes.
#include "core/cookies.h"

#include <gtest/gtest.h>

namespace coinpay {
namespace {

using Pairs = std::vector<std::pair<std::string_view, std::string_view>>;

TEST(ParseCookieHeader, ParsesPairsKeepingOrderAndDuplicates) {
  Pairs want = {{"a", "1"}, {"b", "two"}, {"a", "3"}};
  EXPECT_EQ(ParseCookieHeader("a=1; b=two;a=3"), want);
}

TEST(ParseCookieHeader, TrimsSpacesAndStripsQuotes) {
  Pairs want = {{"a", "1"}, {"b", "x y"}};
  EXPECT_EQ(ParseCookieHeader("  a = 1 ;\tb=\"x y\"  "), want);
}

TEST(ParseCookieHeader, SkipsPartsWithoutNameOrEquals) {
  Pairs want = {{"ok", ""}, {"c", "d=e"}};
  EXPECT_EQ(ParseCookieHeader("noequals; =v; ok=; ;c=d=e"), want);
}

TEST(ParseCookieHeader, EmptyHeaderGivesNothing) { EXPECT_TRUE(ParseCookieHeader("").empty()); }

TEST(SetCookieValue, SessionCookieHasNoMaxAgeAndSafeDefaults) {
  CookieAttrs a;
  EXPECT_EQ(SetCookieValue("coinpay_session", "abc", a),
            "coinpay_session=abc; Path=/; HttpOnly; SameSite=Lax");
}

TEST(SetCookieValue, WritesSecureAndMaxAge) {
  CookieAttrs a;
  a.secure = true;
  a.max_age = 600;
  std::string v = SetCookieValue("n", "v", a);
  EXPECT_NE(v.find("; Max-Age=600"), std::string::npos);
  EXPECT_NE(v.find("; Secure"), std::string::npos);
  EXPECT_NE(v.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(v.find("; SameSite=Lax"), std::string::npos);
}

TEST(SetCookieValue, CanOmitHttpOnlyAndSameSite) {
  CookieAttrs a;
  a.http_only = false;
  a.same_site = "";
  EXPECT_EQ(SetCookieValue("n", "v", a), "n=v; Path=/");
}

TEST(DeleteCookieValue, SetsMaxAgeZeroAndExpiresInThePast) {
  CookieAttrs a;
  a.secure = true;
  a.max_age = 3600;  // ignored: a deletion is always immediate
  std::string v = DeleteCookieValue("coinpay_login_x", a);
  EXPECT_EQ(v.rfind("coinpay_login_x=;", 0), 0u) << v;
  EXPECT_NE(v.find("Expires=Thu, 01 Jan 1970 00:00:00 GMT"), std::string::npos);
  EXPECT_NE(v.find("; Max-Age=0"), std::string::npos);
  EXPECT_EQ(v.find("Max-Age=3600"), std::string::npos);
  EXPECT_NE(v.find("; Path=/"), std::string::npos);
  EXPECT_NE(v.find("; Secure"), std::string::npos);
}

}  // namespace
}  // namespace coinpay
