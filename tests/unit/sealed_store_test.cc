// SealedStore: values are sealed before they reach the inner store, bound to their key,
// versions are the inner store's, and the lock primitives and index sets pass through untouched.
#include "core/sealed_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "fakes.h"

namespace coinpay {
namespace {

using testing::FakeRandom;
using testing::InMemoryStore;

constexpr int64_t kNow = 1'700'000'000;
constexpr int64_t kLater = kNow + 3600;

class EncryptedSessionStoreTest : public ::testing::Test {
 protected:
  std::optional<std::string> InnerValue(const std::string& key) {
    auto got = inner_.Get(key, kNow);
    EXPECT_TRUE(got.ok());
    return testing::ValueOf(got);
  }
  std::optional<std::string> Read(SharedStore& s, const std::string& key, int64_t now = kNow) {
    auto got = s.Get(key, now);
    EXPECT_TRUE(got.ok());
    return testing::ValueOf(got);
  }

  InMemoryStore inner_;
  FakeRandom random_;
  SealedStore store_{inner_, std::string(32, 'k'), random_};
};

TEST_F(EncryptedSessionStoreTest, RoundTripsValues) {
  const std::string binary("\x00\x01\xff session \x00", 13);
  ASSERT_TRUE(store_.Put("key-1", "a session record", kLater).ok());
  ASSERT_TRUE(store_.Put("key-2", binary, kLater).ok());
  ASSERT_TRUE(store_.Put("key-3", "", kLater).ok());
  EXPECT_EQ(Read(store_, "key-1"), "a session record");
  EXPECT_EQ(Read(store_, "key-2"), binary);
  EXPECT_EQ(Read(store_, "key-3"), "");
  EXPECT_EQ(Read(store_, "absent"), std::nullopt);
}

TEST_F(EncryptedSessionStoreTest, InnerStoreNeverHoldsThePlaintext) {
  const std::string secret = "refresh_token=RT-very-secret-value-123";
  ASSERT_TRUE(store_.Put("key-1", secret, kLater).ok());
  auto raw = InnerValue("key-1");
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->find("RT-very-secret"), std::string::npos);
  EXPECT_EQ(raw->find("refresh_token"), std::string::npos);
  // iv || ciphertext || tag
  EXPECT_EQ(raw->size(), secret.size() + kAesGcmIvSize + kAesGcmTagSize);
}

TEST_F(EncryptedSessionStoreTest, SameValueSealsDifferentlyEachTime) {
  ASSERT_TRUE(store_.Put("key-1", "same", kLater).ok());
  auto first = InnerValue("key-1");
  ASSERT_TRUE(store_.Put("key-1", "same", kLater).ok());
  auto second = InnerValue("key-1");
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
}

TEST_F(EncryptedSessionStoreTest, KeepsTheExpiryOfTheInnerEntry) {
  ASSERT_TRUE(store_.Put("key-1", "v", kLater).ok());
  EXPECT_EQ(inner_.ExpiryOf("key-1"), kLater);
  EXPECT_EQ(Read(store_, "key-1", kLater - 1), "v");
  EXPECT_EQ(Read(store_, "key-1", kLater), std::nullopt);
}

TEST_F(EncryptedSessionStoreTest, ValueMovedToAnotherKeyDoesNotOpen) {
  ASSERT_TRUE(store_.Put("alice-session", "alice's record", kLater).ok());
  ASSERT_TRUE(store_.Put("mallory-session", "mallory's record", kLater).ok());
  auto alices = InnerValue("alice-session");
  ASSERT_TRUE(alices.has_value());
  // Someone with write access to Redis copies alice's sealed value under mallory's key.
  ASSERT_TRUE(inner_.Put("mallory-session", *alices, kLater).ok());
  auto got = store_.Get("mallory-session", kNow);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(Read(store_, "alice-session"), "alice's record");
}

TEST_F(EncryptedSessionStoreTest, TamperedOrForeignValuesReadAsAbsent) {
  ASSERT_TRUE(store_.Put("key-1", "record", kLater).ok());
  auto raw = InnerValue("key-1");
  ASSERT_TRUE(raw.has_value());
  std::string flipped = *raw;
  flipped[flipped.size() / 2] ^= 0x01;
  ASSERT_TRUE(inner_.Put("key-1", flipped, kLater).ok());
  EXPECT_EQ(Read(store_, "key-1"), std::nullopt);

  ASSERT_TRUE(inner_.Put("key-2", "plaintext written by someone else", kLater).ok());
  EXPECT_EQ(Read(store_, "key-2"), std::nullopt);
  ASSERT_TRUE(inner_.Put("key-3", "", kLater).ok());
  EXPECT_EQ(Read(store_, "key-3"), std::nullopt);

  // Sealed with another passphrase.
  SealedStore other(inner_, std::string(32, 'x'), random_);
  ASSERT_TRUE(other.Put("key-4", "record", kLater).ok());
  EXPECT_EQ(Read(store_, "key-4"), std::nullopt);
  EXPECT_EQ(Read(other, "key-4"), "record");
}

TEST_F(EncryptedSessionStoreTest, RandomFailureStoresNothing) {
  random_.set_fail(true);
  Status st = store_.Put("key-1", "record", kLater);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::kCryptoFailure);
  EXPECT_EQ(inner_.size(), 0u);
}

TEST_F(EncryptedSessionStoreTest, InnerStoreErrorsPassThrough) {
  inner_.set_unavailable(true);
  EXPECT_EQ(store_.Put("k", "v", kLater).code(), Errc::kStoreUnavailable);
  EXPECT_EQ(store_.Get("k", kNow).code(), Errc::kStoreUnavailable);
  EXPECT_EQ(store_.Erase("k").code(), Errc::kStoreUnavailable);
  EXPECT_EQ(store_.Add("k", "v", kLater, kNow).code(), Errc::kStoreUnavailable);
  EXPECT_EQ(store_.EraseIfEquals("k", "v").code(), Errc::kStoreUnavailable);
}

TEST_F(EncryptedSessionStoreTest, EraseRemovesTheInnerEntry) {
  ASSERT_TRUE(store_.Put("key-1", "record", kLater).ok());
  ASSERT_TRUE(store_.Erase("key-1").ok());
  EXPECT_EQ(inner_.size(), 0u);
  EXPECT_EQ(Read(store_, "key-1"), std::nullopt);
}

TEST_F(EncryptedSessionStoreTest, AddAndEraseIfEqualsPassThroughUnsealed) {
  auto first = store_.Add("lock", "owner-a", kLater, kNow);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  // The owner token is stored as it is, so EraseIfEquals in the inner store can compare it.
  EXPECT_EQ(InnerValue("lock"), "owner-a");
  auto second = store_.Add("lock", "owner-b", kLater, kNow);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);

  ASSERT_TRUE(store_.EraseIfEquals("lock", "owner-b").ok());
  EXPECT_EQ(InnerValue("lock"), "owner-a");
  ASSERT_TRUE(store_.EraseIfEquals("lock", "owner-a").ok());
  EXPECT_EQ(InnerValue("lock"), std::nullopt);

  auto again = store_.Add("lock", "owner-b", kLater, kNow);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again);
  // An expired lock can be taken over.
  auto takeover = store_.Add("lock", "owner-c", kLater + 100, kLater);
  ASSERT_TRUE(takeover.ok());
  EXPECT_TRUE(*takeover);
}

TEST_F(EncryptedSessionStoreTest, GetReportsTheInnerVersion) {
  ASSERT_TRUE(store_.Put("key-1", "record", kLater).ok());
  auto outer = store_.Get("key-1", kNow);
  auto inner = inner_.Get("key-1", kNow);
  ASSERT_TRUE(outer.ok() && outer->has_value());
  ASSERT_TRUE(inner.ok() && inner->has_value());
  EXPECT_EQ((*outer)->version, (*inner)->version);
}

TEST_F(EncryptedSessionStoreTest, PutIfVersionPassesTheVersionThroughAndSealsTheValue) {
  ASSERT_TRUE(store_.Put("key-1", "first record", kLater).ok());
  auto read = store_.Get("key-1", kNow);
  ASSERT_TRUE(read.ok() && read->has_value());
  const std::string secret = "refresh_token=RT-rotated-secret-456";
  auto put = store_.PutIfVersion("key-1", secret, kLater + 60, (*read)->version, kNow);
  ASSERT_TRUE(put.ok()) << put.error().detail;
  EXPECT_TRUE(*put);

  auto raw = InnerValue("key-1");
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->find("RT-rotated"), std::string::npos);
  EXPECT_EQ(raw->find("refresh_token"), std::string::npos);
  EXPECT_EQ(raw->size(), secret.size() + kAesGcmIvSize + kAesGcmTagSize);
  EXPECT_EQ(inner_.ExpiryOf("key-1"), kLater + 60);
  EXPECT_EQ(Read(store_, "key-1"), secret);

  // The version read before the write is spent, in the inner store as through the seal.
  auto stale = store_.PutIfVersion("key-1", "stale write", kLater, (*read)->version, kNow);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  EXPECT_EQ(Read(store_, "key-1"), secret);
}

TEST_F(EncryptedSessionStoreTest, PutIfVersionFailsWhenTheInnerEntryChangedOrIsGone) {
  ASSERT_TRUE(store_.Put("key-1", "record", kLater).ok());
  auto read = store_.Get("key-1", kNow);
  ASSERT_TRUE(read.ok() && read->has_value());
  ASSERT_TRUE(store_.Put("key-1", "written meanwhile", kLater).ok());
  auto after_write = store_.PutIfVersion("key-1", "mine", kLater, (*read)->version, kNow);
  ASSERT_TRUE(after_write.ok());
  EXPECT_FALSE(*after_write);
  EXPECT_EQ(Read(store_, "key-1"), "written meanwhile");

  auto current = store_.Get("key-1", kNow);
  ASSERT_TRUE(current.ok() && current->has_value());
  ASSERT_TRUE(store_.Erase("key-1").ok());
  auto after_erase = store_.PutIfVersion("key-1", "mine", kLater, (*current)->version, kNow);
  ASSERT_TRUE(after_erase.ok());
  EXPECT_FALSE(*after_erase);
  EXPECT_EQ(inner_.size(), 0u);
}

TEST_F(EncryptedSessionStoreTest, PutIfVersionWithAFailedRandomWritesNothing) {
  ASSERT_TRUE(store_.Put("key-1", "record", kLater).ok());
  auto read = store_.Get("key-1", kNow);
  ASSERT_TRUE(read.ok() && read->has_value());
  random_.set_fail(true);
  auto put = store_.PutIfVersion("key-1", "new record", kLater, (*read)->version, kNow);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.code(), Errc::kCryptoFailure);
  random_.set_fail(false);
  EXPECT_EQ(inner_.puts(), 1);
  EXPECT_EQ(Read(store_, "key-1"), "record");
}

TEST_F(EncryptedSessionStoreTest, SetsPassThroughUnchanged) {
  const std::string binary("\0\x01\xff member", 10);
  ASSERT_TRUE(store_.SetAdd("index", "m1", kLater).ok());
  ASSERT_TRUE(store_.SetAdd("index", binary, kLater + 100).ok());
  auto inner_members = inner_.SetMembers("index", kNow);
  ASSERT_TRUE(inner_members.ok());
  std::vector<std::string> expected = {binary, "m1"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*inner_members, expected);  // members as given, not sealed
  auto outer_members = store_.SetMembers("index", kNow);
  ASSERT_TRUE(outer_members.ok());
  EXPECT_EQ(*outer_members, expected);
  // The set's expiry is the inner store's too: still there until the later of the two.
  auto late = store_.SetMembers("index", kLater + 50);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->size(), 2u);

  ASSERT_TRUE(store_.SetRemove("index", {"m1"}).ok());
  inner_members = inner_.SetMembers("index", kNow);
  ASSERT_TRUE(inner_members.ok());
  EXPECT_EQ(*inner_members, std::vector<std::string>{binary});
  ASSERT_TRUE(store_.SetRemove("index", {binary}).ok());
  EXPECT_EQ(inner_.size(), 0u);
}

TEST_F(EncryptedSessionStoreTest, InnerStoreErrorsPassThroughForVersionsAndSets) {
  ASSERT_TRUE(store_.Put("k", "v", kLater).ok());
  inner_.set_unavailable(true);
  EXPECT_EQ(store_.PutIfVersion("k", "v2", kLater, 1, kNow).code(), Errc::kStoreUnavailable);
  EXPECT_EQ(store_.SetAdd("index", "m", kLater).code(), Errc::kStoreUnavailable);
  EXPECT_EQ(store_.SetMembers("index", kNow).code(), Errc::kStoreUnavailable);
  EXPECT_EQ(store_.SetRemove("index", {"m"}).code(), Errc::kStoreUnavailable);
}

TEST_F(EncryptedSessionStoreTest, MarkersWrittenByAddAreSeenByExists) {
  ASSERT_TRUE(*store_.Add("jti", "1", kLater, kNow));
  auto seen = store_.Exists("jti", kNow);
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(*seen);
  auto expired = store_.Exists("jti", kLater);
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(*expired);
}

}  // namespace
}  // namespace coinpay
