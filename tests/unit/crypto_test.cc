// Hashing, HKDF (RFC 5869), AES-256-GCM and the random helpers.
#include "core/crypto.h"

#include <gtest/gtest.h>

#include <thread>

#include <set>

#include "core/encoding.h"
#include "fakes.h"

namespace coinpay {
namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out += kHex[static_cast<uint8_t>(c) >> 4];
    out += kHex[static_cast<uint8_t>(c) & 15];
  }
  return out;
}

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

TEST(Sha256, MatchesFips180Vector) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Each thread reuses one digest context: hashes in a row and on other threads stay exact.
TEST(Sha256, ReusedContextGivesTheSameDigestEveryTimeOnEveryThread) {
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const std::string empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  auto check = [&] {
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(Hex(Sha256("abc")), abc);
      EXPECT_EQ(Hex(Sha256("")), empty);
    }
  };
  check();
  std::thread other(check);
  other.join();
}

TEST(HmacSha256, MatchesRfc4231TestCase2) {
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hkdf, MatchesRfc5869TestCase1) {
  std::string ikm(22, '\x0b');
  std::string salt = Unhex("000102030405060708090a0b0c");
  std::string info = Unhex("f0f1f2f3f4f5f6f7f8f9");
  auto okm = HkdfSha256(ikm, salt, info, 42);
  ASSERT_TRUE(okm.has_value());
  EXPECT_EQ(Hex(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

TEST(Hkdf, DifferentInfoGivesDifferentKeys) {
  EXPECT_NE(HkdfSha256("k", "s", "a", 32), HkdfSha256("k", "s", "b", 32));
}

class AesGcmTest : public ::testing::Test {
 protected:
  std::string key_ = std::string(32, '\x42');
  std::string iv_ = std::string(kAesGcmIvSize, '\x07');
};

TEST_F(AesGcmTest, RoundTripsAndLaysOutIvCiphertextTag) {
  auto sealed = AesGcmSeal(key_, iv_, "aad", "hello world");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(sealed->size(), kAesGcmIvSize + 11 + kAesGcmTagSize);
  EXPECT_EQ(sealed->substr(0, kAesGcmIvSize), iv_);
  EXPECT_EQ(sealed->find("hello"), std::string::npos);
  auto opened = AesGcmOpen(key_, "aad", *sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, "hello world");
}

TEST_F(AesGcmTest, RoundTripsEmptyPlaintext) {
  auto sealed = AesGcmSeal(key_, iv_, "", "");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(AesGcmOpen(key_, "", *sealed).value_or("x"), "");
}

TEST_F(AesGcmTest, RefusesEveryFlippedBit) {
  auto sealed = AesGcmSeal(key_, iv_, "aad", "secret payload");
  ASSERT_TRUE(sealed.has_value());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string t = *sealed;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    EXPECT_FALSE(AesGcmOpen(key_, "aad", t).has_value()) << "byte " << i;
  }
}

TEST_F(AesGcmTest, RefusesOtherAadOtherKeyAndTruncation) {
  auto sealed = AesGcmSeal(key_, iv_, "aad", "secret payload");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_FALSE(AesGcmOpen(key_, "aae", *sealed).has_value());
  EXPECT_FALSE(AesGcmOpen(std::string(32, '\x43'), "aad", *sealed).has_value());
  EXPECT_FALSE(AesGcmOpen(key_, "aad", sealed->substr(0, sealed->size() - 1)).has_value());
  EXPECT_FALSE(AesGcmOpen(key_, "aad", sealed->substr(0, 10)).has_value());
}

TEST_F(AesGcmTest, RefusesWrongKeyOrIvSizes) {
  EXPECT_FALSE(AesGcmSeal("short", iv_, "", "x").has_value());
  EXPECT_FALSE(AesGcmSeal(key_, "short", "", "x").has_value());
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(ConstantTimeEquals, FindsADifferenceInAnyByteOfASessionId) {
  const std::string id(43, 'A');
  EXPECT_TRUE(ConstantTimeEquals(id, std::string(43, 'A')));
  for (size_t i = 0; i < id.size(); ++i) {
    for (char c : {'B', '\0', '\x80', '\xff'}) {
      std::string other = id;
      other[i] = c;
      EXPECT_FALSE(ConstantTimeEquals(id, other)) << i;
      EXPECT_FALSE(ConstantTimeEquals(other, id)) << i;
    }
  }
}

TEST(SecureWipe, ZeroesTheBytes) {
  std::string s = "secret";
  SecureWipe(s);
  EXPECT_EQ(s, std::string(6, '\0'));
}

TEST(RandomToken, IsBase64UrlOfRequestedLengthAndVaries) {
  OsRandom random;
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto t = RandomToken(random, 32);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->size(), 43u);
    EXPECT_EQ(Base64UrlDecode(*t).value_or("").size(), 32u);
    seen.insert(*t);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(RandomToken, FailsWhenTheGeneratorFails) {
  testing::FakeRandom random;
  random.set_fail(true);
  EXPECT_FALSE(RandomToken(random, 16).has_value());
}

// RFC 8037 Appendix A: the A.1 key's public part ("x", which is also RFC 8032 section 7.1
// TEST 1's key) and the A.4 signature over the A.4 JWS signing input.
constexpr char kRfc8037PublicHex[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr char kRfc8037SigningInput[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
constexpr char kRfc8037SignatureHex[] =
    "860c98d2297f3060a33f42739672d61b53cf3adefed3d3c672f320dc021b411e"
    "9d59b8628dc351e248b88b29468e0e41855b0fb7d83bb15be902bfccb8cd0a02";

TEST(Ed25519, VerifiesRfc8037AppendixA4Signature) {
  auto key = Ed25519PublicKey::FromRaw(Unhex(kRfc8037PublicHex));
  ASSERT_TRUE(key.has_value());
  EXPECT_TRUE(key->Verify(kRfc8037SigningInput, Unhex(kRfc8037SignatureHex)));
}

TEST(Ed25519, RefusesEveryFlippedBitOfTheRfc8037Signature) {
  auto key = Ed25519PublicKey::FromRaw(Unhex(kRfc8037PublicHex));
  ASSERT_TRUE(key.has_value());
  std::string sig = Unhex(kRfc8037SignatureHex);
  for (size_t bit = 0; bit < sig.size() * 8; ++bit) {
    std::string bad = sig;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(key->Verify(kRfc8037SigningInput, bad)) << "bit " << bit;
  }
}

TEST(Ed25519, RefusesAnotherMessageUnderTheRfc8037Signature) {
  auto key = Ed25519PublicKey::FromRaw(Unhex(kRfc8037PublicHex));
  ASSERT_TRUE(key.has_value());
  std::string sig = Unhex(kRfc8037SignatureHex);
  EXPECT_FALSE(key->Verify("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmC", sig));
  EXPECT_FALSE(key->Verify("", sig));
}

TEST(Ed25519, RefusesSignaturesOfTheWrongLength) {
  auto key = Ed25519PublicKey::FromRaw(Unhex(kRfc8037PublicHex));
  ASSERT_TRUE(key.has_value());
  std::string sig = Unhex(kRfc8037SignatureHex);
  EXPECT_FALSE(key->Verify(kRfc8037SigningInput, ""));
  EXPECT_FALSE(key->Verify(kRfc8037SigningInput, sig.substr(0, 63)));
  EXPECT_FALSE(key->Verify(kRfc8037SigningInput, sig + '\0'));
}

TEST(Ed25519, RefusesKeysOfTheWrongLength) {
  std::string raw = Unhex(kRfc8037PublicHex);
  EXPECT_FALSE(Ed25519PublicKey::FromRaw("").has_value());
  EXPECT_FALSE(Ed25519PublicKey::FromRaw(raw.substr(0, 31)).has_value());
  EXPECT_FALSE(Ed25519PublicKey::FromRaw(raw + '\0').has_value());
  // 57 bytes is an Ed448 key: not this type.
  EXPECT_FALSE(Ed25519PublicKey::FromRaw(std::string(57, '\x01')).has_value());
}

TEST(Ed25519, AnotherKeyDoesNotVerify) {
  std::string other = Unhex(kRfc8037PublicHex);
  other[0] = static_cast<char>(other[0] ^ 1);
  auto key = Ed25519PublicKey::FromRaw(other);
  if (key) {  // OpenSSL may refuse the altered point outright; either way it must not verify
    EXPECT_FALSE(key->Verify(kRfc8037SigningInput, Unhex(kRfc8037SignatureHex)));
  }
}

}  // namespace
}  // namespace coinpay
