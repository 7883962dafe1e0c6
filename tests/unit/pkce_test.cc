// PKCE S256 (RFC 7636): the Appendix B vector and the verifier's shape.
#include "core/pkce.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/crypto.h"
#include "fakes.h"

namespace coinpay {
namespace {

TEST(Pkce, MatchesRfc7636AppendixBVector) {
  EXPECT_EQ(PkceChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(Pkce, VerifierIs43UnreservedCharacters) {
  OsRandom random;
  auto v = MakePkceVerifier(random);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->size(), 43u);
  EXPECT_TRUE(std::all_of(v->begin(), v->end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
  }));
  EXPECT_NE(*v, MakePkceVerifier(random).value_or(""));
}

TEST(Pkce, VerifierFailsWhenRandomFails) {
  testing::FakeRandom random;
  random.set_fail(true);
  EXPECT_FALSE(MakePkceVerifier(random).has_value());
}

TEST(Pkce, ChallengeDependsOnEveryCharacter) {
  EXPECT_NE(PkceChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            PkceChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
}

}  // namespace
}  // namespace coinpay
