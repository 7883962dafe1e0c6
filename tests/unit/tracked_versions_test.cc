// TrackedVersions: when a process may answer "unchanged" without asking Redis. Every
// interleaving of a read, an invalidation and the channel's life, step by step, on a clock
// that only moves when the test says so.
#include "core/tracked_versions.h"

#include <gtest/gtest.h>

#include <string>

namespace coinpay {
namespace {

constexpr int64_t kStart = 1'000'000;

// A channel subscribed at kStart, with `key` recorded at version 7.
TrackedVersions Subscribed(TrackedVersions::Limits limits = {}) {
  TrackedVersions t(limits);
  t.Subscribed(kStart);
  return t;
}

void RecordNow(TrackedVersions& t, std::string_view key, uint64_t version, int64_t now) {
  auto ticket = t.TicketFor(key);
  t.Record(key, version, ticket, now);
}

TEST(TrackedVersions, AVersionReadWhileSubscribedIsKnownUntilSomethingChanges) {
  auto t = Subscribed();
  RecordNow(t, "session-a", 7, kStart);
  EXPECT_TRUE(t.Knows("session-a", 7, kStart + 10));
  EXPECT_FALSE(t.Knows("session-a", 8, kStart + 10)) << "only the version that was read";
  EXPECT_FALSE(t.Knows("session-b", 7, kStart + 10)) << "only the key that was read";
}

TEST(TrackedVersions, NothingIsKnownBeforeTheChannelIsSubscribed) {
  TrackedVersions t;
  RecordNow(t, "session-a", 7, kStart);
  EXPECT_FALSE(t.Knows("session-a", 7, kStart));
  EXPECT_EQ(t.size(), 0u);
}

TEST(TrackedVersions, AnInvalidationForgetsOnlyTheKeyItNames) {
  auto t = Subscribed();
  RecordNow(t, "session-a", 7, kStart);
  RecordNow(t, "session-b", 9, kStart);
  t.Invalidate("session-a");
  EXPECT_FALSE(t.Knows("session-a", 7, kStart + 1));
  EXPECT_TRUE(t.Knows("session-b", 9, kStart + 1));
}

TEST(TrackedVersions, AReadAnsweredBeforeAWriteWhoseInvalidationCameDuringItIsNotRecorded) {
  // Thread 1 sends GETRANGE and gets the old version; meanwhile another node logs the session
  // out and thread 2 applies the invalidation (for nothing: no version was known yet). Were
  // thread 1's stale answer recorded now, no second invalidation would ever remove it.
  auto t = Subscribed();
  auto ticket = t.TicketFor("session-a");        // thread 1, before sending its read
  t.Invalidate("session-a");                     // thread 2 drains the channel
  t.Record("session-a", 7, ticket, kStart + 1);  // thread 1's answer arrives
  EXPECT_FALSE(t.Knows("session-a", 7, kStart + 2));
}

TEST(TrackedVersions, AnInvalidationOfAnotherBucketDoesNotBlockARecord) {
  auto t = Subscribed();
  // Find a key in another bucket than "session-a": some of the first few hundred names are.
  std::string other;
  for (int i = 0; i < 1000 && other.empty(); ++i) {
    std::string k = "other-" + std::to_string(i);
    auto before = t.TicketFor("session-a");
    t.Invalidate(k);
    if (t.TicketFor("session-a").bucket == before.bucket) {
      other = k;
    }
  }
  ASSERT_FALSE(other.empty());
  auto ticket = t.TicketFor("session-a");
  t.Invalidate(other);
  t.Record("session-a", 7, ticket, kStart + 1);
  EXPECT_TRUE(t.Knows("session-a", 7, kStart + 2));
}

TEST(TrackedVersions, FlushallDuringAReadBlocksItsRecordAndForgetsEverything) {
  auto t = Subscribed();
  RecordNow(t, "session-b", 9, kStart);
  auto ticket = t.TicketFor("session-a");
  t.InvalidateAll();
  t.Record("session-a", 7, ticket, kStart + 1);
  EXPECT_FALSE(t.Knows("session-a", 7, kStart + 2));
  EXPECT_FALSE(t.Knows("session-b", 9, kStart + 2));
}

TEST(TrackedVersions, ALostChannelForgetsEverythingAndAReadUnderWayIsNotRecorded) {
  auto t = Subscribed();
  RecordNow(t, "session-b", 9, kStart);
  auto ticket = t.TicketFor("session-a");
  t.Lost();
  t.Subscribed(kStart + 5);  // reopened before the read's answer came
  t.Record("session-a", 7, ticket, kStart + 6);
  EXPECT_FALSE(t.Knows("session-a", 7, kStart + 6));
  EXPECT_FALSE(t.Knows("session-b", 9, kStart + 6)) << "messages were missed while it was lost";
}

TEST(TrackedVersions, WithoutARecentProofOfLifeNothingIsAnswered) {
  auto t = Subscribed({.freshness_ms = 1000});
  RecordNow(t, "session-a", 7, kStart);
  EXPECT_TRUE(t.Knows("session-a", 7, kStart + 1000));
  EXPECT_FALSE(t.Knows("session-a", 7, kStart + 1001)) << "a hung Redis sends nothing";
}

TEST(TrackedVersions, APongProvesLifeAsOfWhenItsPingWasSent) {
  auto t = Subscribed({.freshness_ms = 1000, .ping_every_ms = 250});
  RecordNow(t, "session-a", 7, kStart);
  EXPECT_FALSE(t.PingDue(kStart + 249));
  ASSERT_TRUE(t.PingDue(kStart + 250));
  uint64_t seq = t.StartPing(kStart + 250);
  EXPECT_FALSE(t.PingDue(kStart + 600)) << "one PING outstanding at a time";
  EXPECT_FALSE(t.Knows("session-a", 7, kStart + 600)) << "nothing answered while it is out";
  t.Pong(seq);  // arrives late, at +900: the proof is as of +250
  EXPECT_TRUE(t.Knows("session-a", 7, kStart + 1250));
  EXPECT_FALSE(t.Knows("session-a", 7, kStart + 1251));
}

TEST(TrackedVersions, AnUnansweredPingIsOverdueAfterTheTimeout) {
  auto t = Subscribed({.freshness_ms = 1000, .ping_every_ms = 250});
  uint64_t seq = t.StartPing(kStart + 250);
  EXPECT_FALSE(t.PingOverdue(kStart + 2250, 2000));
  EXPECT_TRUE(t.PingOverdue(kStart + 2251, 2000));
  t.Pong(seq);
  EXPECT_FALSE(t.PingOverdue(kStart + 5000, 2000));
}

TEST(TrackedVersions, AfterABacklogOnlyThePongOfALaterPingIsAProof) {
  // A drain that read a full socket may have left invalidations on Redis's side; the PING that
  // was already outstanding may be answered before them, the next one only after them.
  auto t = Subscribed({.freshness_ms = 1000, .ping_every_ms = 250});
  RecordNow(t, "session-a", 7, kStart);
  uint64_t early = t.StartPing(kStart + 300);
  t.Backlog();
  EXPECT_FALSE(t.Knows("session-a", 7, kStart + 301)) << "forgotten";
  RecordNow(t, "session-a", 7, kStart + 302);
  t.Pong(early);
  EXPECT_FALSE(t.Knows("session-a", 7, kStart + 303)) << "the early PONG proves nothing";
  ASSERT_TRUE(t.PingDue(kStart + 303));
  uint64_t later = t.StartPing(kStart + 303);
  t.Pong(later);
  RecordNow(t, "session-a", 7, kStart + 304);
  EXPECT_TRUE(t.Knows("session-a", 7, kStart + 304));
}

TEST(TrackedVersions, AStrangePongIsIgnored) {
  auto t = Subscribed({.freshness_ms = 1000, .ping_every_ms = 250});
  t.StartPing(kStart + 500);
  t.Pong(0);
  t.Pong(12345);
  RecordNow(t, "session-a", 7, kStart + 500);
  EXPECT_FALSE(t.Knows("session-a", 7, kStart + 1001));
}

TEST(TrackedVersions, StaysBoundedByForgettingEverythingWhenFull) {
  auto t = Subscribed({.max_keys = 3});
  for (int i = 0; i < 3; ++i) {
    RecordNow(t, "k" + std::to_string(i), 1, kStart);
  }
  EXPECT_EQ(t.size(), 3u);
  RecordNow(t, "k3", 1, kStart);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.Knows("k3", 1, kStart));
  EXPECT_FALSE(t.Knows("k0", 1, kStart));
}

}  // namespace
}  // namespace coinpay
