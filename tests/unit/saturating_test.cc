// Sums of attacker-chosen numbers (exp + leeway, now + expires_in) clamp instead of overflowing.
#include "core/saturating.h"

#include <gtest/gtest.h>

#include <limits>

namespace coinpay {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST(SaturatingAdd, OrdinarySums) {
  EXPECT_EQ(SaturatingAdd(1700000000, 3600), 1700003600);
  EXPECT_EQ(SaturatingAdd(-5, 3), -2);
  EXPECT_EQ(SaturatingAdd(0, 0), 0);
}

TEST(SaturatingAdd, ClampsAtTheTop) {
  EXPECT_EQ(SaturatingAdd(1700000000, kMax), kMax);  // now + expires_in of INT64_MAX
  EXPECT_EQ(SaturatingAdd(kMax, 60), kMax);          // exp of INT64_MAX + leeway
  EXPECT_EQ(SaturatingAdd(kMax, kMax), kMax);
  EXPECT_EQ(SaturatingAdd(kMax, 0), kMax);
  EXPECT_EQ(SaturatingAdd(kMax - 1, 1), kMax);
}

TEST(SaturatingAdd, ClampsAtTheBottom) {
  EXPECT_EQ(SaturatingAdd(kMin, -60), kMin);
  EXPECT_EQ(SaturatingAdd(-1700000000, kMin), kMin);
  EXPECT_EQ(SaturatingAdd(kMin, kMin), kMin);
  EXPECT_EQ(SaturatingAdd(kMin + 1, -1), kMin);
}

TEST(SaturatingAdd, OppositeSignsNeverClamp) {
  EXPECT_EQ(SaturatingAdd(kMax, kMin), -1);
  EXPECT_EQ(SaturatingAdd(kMin, 60), kMin + 60);
  EXPECT_EQ(SaturatingAdd(kMax, -60), kMax - 60);
}

static_assert(SaturatingAdd(kMax, 1) == kMax, "usable in constant expressions");

}  // namespace
}  // namespace coinpay
