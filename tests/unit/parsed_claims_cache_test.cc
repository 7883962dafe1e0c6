// Require coinpay-claim on session requests: the claims text is parsed once, not per request.
#include "core/parsed_claims_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace coinpay {
namespace {

TEST(ParsedClaimsCache, TheSameTextIsParsedOnceAndShared) {
  ParsedClaimsCache cache(100);
  auto first = cache.Parsed(R"({"sub":"u-1","role":"admin"})");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->GetString("role"), "admin");
  std::string again = R"({"sub":"u-1","role":"admin"})";  // another buffer, the same text
  EXPECT_EQ(cache.Parsed(again), first);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ParsedClaimsCache, DifferentTextsNeverAnswerForEachOther) {
  ParsedClaimsCache cache(100);
  auto alice = cache.Parsed(R"({"sub":"alice","role":"admin"})");
  auto bob = cache.Parsed(R"({"sub":"alice","role":"user"})");
  ASSERT_NE(alice, nullptr);
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(alice->GetString("role"), "admin");
  EXPECT_EQ(bob->GetString("role"), "user");
}

TEST(ParsedClaimsCache, NotJsonIsNothingAndIsNotKept) {
  ParsedClaimsCache cache(100);
  EXPECT_EQ(cache.Parsed("{not json"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ParsedClaimsCache, StaysBounded) {
  ParsedClaimsCache cache(16);
  for (int i = 0; i < 1000; ++i) {
    auto parsed = cache.Parsed("{\"sub\":\"u-" + std::to_string(i) + "\"}");
    ASSERT_NE(parsed, nullptr);
    EXPECT_EQ(parsed->GetString("sub"), "u-" + std::to_string(i));
  }
  EXPECT_LE(cache.size(), 16u + 8u);  // capacity / shards + 1 per shard
}

}  // namespace
}  // namespace coinpay
