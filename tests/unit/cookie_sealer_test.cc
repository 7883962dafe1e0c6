// Sealed cookies: confidentiality and integrity, purpose binding, expiry, passphrase rotation.
#include "core/cookie_sealer.h"

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "fakes.h"

namespace coinpay {
namespace {

constexpr int64_t kNow = 1700000000;

class CookieSealerTest : public ::testing::Test {
 protected:
  testing::FakeRandom random_;
  CookieSealer sealer_{{"correct horse battery staple"}};
};

TEST_F(CookieSealerTest, RoundTripsAndHidesThePlaintext) {
  auto sealed = sealer_.Seal("login-state", "the payload", kNow + 60, random_);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("payload"), std::string::npos);
  EXPECT_TRUE(Base64UrlDecode(*sealed).has_value());
  auto opened = sealer_.Open("login-state", *sealed, kNow);
  ASSERT_TRUE(opened.ok()) << opened.error().detail;
  EXPECT_EQ(*opened, "the payload");
}

TEST_F(CookieSealerTest, RefusesAnyTamperedCharacter) {
  auto sealed = sealer_.Seal("login-state", "the payload", kNow + 60, random_);
  ASSERT_TRUE(sealed.ok());
  auto raw = Base64UrlDecode(*sealed).value();
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string t = raw;
    t[i] = static_cast<char>(t[i] ^ 0x80);
    auto opened = sealer_.Open("login-state", Base64UrlEncode(t), kNow);
    EXPECT_EQ(opened.code(), Errc::kCookieInvalid) << "byte " << i;
  }
}

TEST_F(CookieSealerTest, RefusesValueSealedForAnotherPurpose) {
  auto sealed = sealer_.Seal("login-state", "x", kNow + 60, random_);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealer_.Open("session", *sealed, kNow).code(), Errc::kCookieInvalid);
  EXPECT_EQ(sealer_.Open("login-stat", *sealed, kNow).code(), Errc::kCookieInvalid);
}

TEST_F(CookieSealerTest, OpensUntilItsExpiryAndNotAfter) {
  auto sealed = sealer_.Seal("p", "x", kNow + 600, random_);
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(sealer_.Open("p", *sealed, kNow + 600).ok());
  auto late = sealer_.Open("p", *sealed, kNow + 601);
  EXPECT_EQ(late.code(), Errc::kCookieInvalid);
}

TEST_F(CookieSealerTest, RefusesGarbageTruncatedAndOversizedInput) {
  EXPECT_EQ(sealer_.Open("p", "", kNow).code(), Errc::kCookieInvalid);
  EXPECT_EQ(sealer_.Open("p", "not base64!", kNow).code(), Errc::kCookieInvalid);
  EXPECT_EQ(sealer_.Open("p", "AQ", kNow).code(), Errc::kCookieInvalid);
  auto sealed = sealer_.Seal("p", "x", kNow + 60, random_);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealer_.Open("p", sealed->substr(0, sealed->size() - 4), kNow).code(),
            Errc::kCookieInvalid);
  EXPECT_EQ(sealer_.Open("p", std::string(100000, 'A'), kNow).code(), Errc::kCookieInvalid);
}

TEST_F(CookieSealerTest, RefusesUnknownFormatVersion) {
  auto sealed = sealer_.Seal("p", "x", kNow + 60, random_);
  ASSERT_TRUE(sealed.ok());
  std::string raw = Base64UrlDecode(*sealed).value();
  ASSERT_EQ(raw[0], '\x01');
  raw[0] = '\x02';
  EXPECT_EQ(sealer_.Open("p", Base64UrlEncode(raw), kNow).code(), Errc::kCookieInvalid);
}

TEST_F(CookieSealerTest, UsesAFreshIvForEachSeal) {
  auto a = sealer_.Seal("p", "same", kNow + 60, random_);
  auto b = sealer_.Seal("p", "same", kNow + 60, random_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  // The IV comes from the Random it is given: the same bytes give the same value.
  testing::ConstantRandom c1(7);
  testing::ConstantRandom c2(7);
  EXPECT_EQ(sealer_.Seal("p", "same", kNow + 60, c1).value(),
            sealer_.Seal("p", "same", kNow + 60, c2).value());
}

TEST_F(CookieSealerTest, FailsClosedWhenRandomFails) {
  random_.set_fail(true);
  EXPECT_EQ(sealer_.Seal("p", "x", kNow + 60, random_).code(), Errc::kCryptoFailure);
}

TEST(CookieSealer, RotatedPassphraseOpensOldCookiesAndSealsWithTheNewOne) {
  testing::FakeRandom random;
  CookieSealer old_sealer({"old secret"});
  CookieSealer rotated({"new secret", "old secret"});
  CookieSealer new_only({"new secret"});

  auto old_cookie = old_sealer.Seal("p", "from before", kNow + 60, random);
  ASSERT_TRUE(old_cookie.ok());
  EXPECT_EQ(rotated.Open("p", *old_cookie, kNow).value(), "from before");

  auto fresh = rotated.Seal("p", "after", kNow + 60, random);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(new_only.Open("p", *fresh, kNow).value(), "after");
  EXPECT_EQ(old_sealer.Open("p", *fresh, kNow).code(), Errc::kCookieInvalid);
}

TEST(CookieSealer, RefusesCookieSealedByUnknownPassphrase) {
  testing::FakeRandom random;
  CookieSealer attacker({"guessed"});
  CookieSealer ours({"ours", "older"});
  auto forged = attacker.Seal("p", "admin", kNow + 60, random);
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(ours.Open("p", *forged, kNow).code(), Errc::kCookieInvalid);
}

TEST(CookieSealer, WithoutPassphraseRefusesToSeal) {
  testing::FakeRandom random;
  CookieSealer none({});
  EXPECT_EQ(none.Seal("p", "x", kNow + 60, random).code(), Errc::kConfig);
}

TEST(CookieSealer, DerivedKeysDependOnInfoAndPassphrase) {
  CookieSealer a({"one"});
  CookieSealer b({"two"});
  EXPECT_EQ(a.DeriveKey("redis").size(), 32u);
  EXPECT_NE(a.DeriveKey("redis"), a.DeriveKey("other"));
  EXPECT_NE(a.DeriveKey("redis"), b.DeriveKey("redis"));
}

}  // namespace
}  // namespace coinpay
