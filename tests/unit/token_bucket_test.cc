// The token bucket that budgets introspection calls: a burst, then a steady rate, and one
// "first refusal" per flood.
#include "core/token_bucket.h"

#include <gtest/gtest.h>

namespace coinpay {
namespace {

constexpr int64_t kNow = 1'700'000'000;

TEST(TokenBucket, GrantsTheBurstThenRefuses) {
  TokenBucket bucket(2, 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(bucket.TryTake(kNow).granted) << i;
  }
  auto first = bucket.TryTake(kNow);
  EXPECT_FALSE(first.granted);
  EXPECT_TRUE(first.first_refusal);
  auto second = bucket.TryTake(kNow);
  EXPECT_FALSE(second.granted);
  EXPECT_FALSE(second.first_refusal);
}

TEST(TokenBucket, RefillsAtItsRateUpToTheBurst) {
  TokenBucket bucket(2, 5);
  for (int i = 0; i < 5; ++i) {
    bucket.TryTake(kNow);
  }
  EXPECT_FALSE(bucket.TryTake(kNow).granted);
  EXPECT_TRUE(bucket.TryTake(kNow + 1).granted);
  EXPECT_TRUE(bucket.TryTake(kNow + 1).granted);
  auto refused = bucket.TryTake(kNow + 1);
  EXPECT_FALSE(refused.granted);
  EXPECT_FALSE(refused.first_refusal);  // the same flood
  // A long quiet spell fills it to the burst, no further; the next flood is reported again.
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(bucket.TryTake(kNow + 1000).granted) << i;
  }
  auto again = bucket.TryTake(kNow + 1000);
  EXPECT_FALSE(again.granted);
  EXPECT_TRUE(again.first_refusal);
}

TEST(TokenBucket, TimeGoingBackwardsRefillsNothing) {
  TokenBucket bucket(10, 1);
  EXPECT_TRUE(bucket.TryTake(kNow).granted);
  EXPECT_FALSE(bucket.TryTake(kNow - 100).granted);
  EXPECT_FALSE(bucket.TryTake(kNow - 100).granted);
  EXPECT_TRUE(bucket.TryTake(kNow - 99).granted);
}

}  // namespace
}  // namespace coinpay
