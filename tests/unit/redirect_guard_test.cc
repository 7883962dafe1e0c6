// Open-redirect defence: every known trick is refused; same-origin paths, our own origin and
// allow-listed origins pass.
#include "core/redirect_guard.h"

#include <gtest/gtest.h>

namespace coinpay {
namespace {

constexpr char kOwn[] = "https://example-business.com";
const std::vector<std::string> kAllowed = {"https://partner.example.org", "http://localhost:8080"};

std::optional<std::string> Guard(std::string_view c) {
  return SafeRedirectTarget(c, kOwn, kAllowed);
}

TEST(RedirectGuard, RefusesEveryOpenRedirectPayload) {
  const std::vector<std::string> payloads = {
      "//evil.com",
      "/\\evil.com",
      "\\\\evil.com",
      "/\t/evil",
      "http:evil.com",
      "https:evil.com",
      "javascript:alert(1)",
      "\r\nLocation: x",
      "/x\r\nLocation: https://evil.com",
      "https://example-business.com@evil.com",
      "https://evil.com",
      " /x",
      "//",
      "///evil.com",
      "https://evil.com\\@example-business.com",
      "https://example-business.com\\@evil.com",
      "https://example-business.com.evil.com/",
      "https://evil.com#https://example-business.com",
      "http://example-business.com/",  // our host, but another origin (scheme)
      "https://example-business.com:8443/",
      "data:text/html,<script>alert(1)</script>",
      "ftp://example-business.com/",
      "evil.com",
      "./x",
      "",
      std::string("/x\0y", 4),
      "/\x7f",
      "/caf\xc3\xa9",
      "https://[::1]@evil.com/",
  };
  for (const auto& p : payloads) {
    EXPECT_FALSE(Guard(p).has_value()) << "accepted: " << p;
  }
}

TEST(RedirectGuard, RefusesOverlongTargets) {
  EXPECT_FALSE(Guard("/" + std::string(3000, 'a')).has_value());
}

TEST(RedirectGuard, AllowsSameOriginPaths) {
  EXPECT_EQ(Guard("/app").value_or(""), "/app");
  EXPECT_EQ(Guard("/app?x=1#y").value_or(""), "/app?x=1#y");
  EXPECT_EQ(Guard("/").value_or(""), "/");
}

TEST(RedirectGuard, AllowsOwnOriginAbsoluteUrl) {
  EXPECT_EQ(Guard("https://example-business.com/app?x=1").value_or(""),
            "https://example-business.com/app?x=1");
  EXPECT_TRUE(Guard("https://EXAMPLE-business.com/app").has_value());
}

TEST(RedirectGuard, NormalisesDefaultPorts) {
  EXPECT_TRUE(Guard("https://example-business.com:443/app").has_value());
  EXPECT_TRUE(Guard("http://localhost:8080/x").has_value());
  EXPECT_FALSE(Guard("http://localhost/x").has_value());
}

TEST(RedirectGuard, AllowsAllowListedOrigins) {
  EXPECT_TRUE(Guard("https://partner.example.org/welcome").has_value());
  EXPECT_TRUE(Guard("https://partner.example.org").has_value());
  EXPECT_FALSE(Guard("http://partner.example.org/welcome").has_value());
}

TEST(OriginOf, LowerCasesAndDropsDefaultPorts) {
  EXPECT_EQ(OriginOf("HTTPS://Example.COM:443/a?b").value_or(""), "https://example.com");
  EXPECT_EQ(OriginOf("http://example.com:80").value_or(""), "http://example.com");
  EXPECT_EQ(OriginOf("http://example.com:8080/").value_or(""), "http://example.com:8080");
  EXPECT_EQ(OriginOf("https://example.com?x").value_or(""), "https://example.com");
}

TEST(OriginOf, RefusesNonHttpAndOddAuthorities) {
  EXPECT_FALSE(OriginOf("ftp://example.com").has_value());
  EXPECT_FALSE(OriginOf("https://").has_value());
  EXPECT_FALSE(OriginOf("https:///path").has_value());
  EXPECT_FALSE(OriginOf("https://user@example.com").has_value());
  EXPECT_FALSE(OriginOf("https://example.com:port/").has_value());
  EXPECT_FALSE(OriginOf("https://example.com:/").has_value());
  EXPECT_FALSE(OriginOf("https://exa mple.com/").has_value());
  EXPECT_FALSE(OriginOf("https:example.com").has_value());
}

}  // namespace
}  // namespace coinpay
