// CoinpayRedisTracking against a real redis-server: a process confirms a record nobody changed
// without a round trip, and still sees every change another node makes (write, delete,
// FLUSHALL) on its very next read, also when its invalidation channel was killed or Redis
// refuses tracking.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "fakes.h"
#include "platform/redis_store.h"
#include "redis_server.h"

namespace coinpay {
namespace {

int64_t WallNow() { return static_cast<int64_t>(std::time(nullptr)); }

class RedisTrackingTest : public testing::RedisSuite {
 protected:
  void SetUp() override {
    RedisSuite::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    now_ = WallNow();
  }

  static std::unique_ptr<RedisStore> NewStore(const testing::RedisServer& server, bool tracking,
                                              LogSink* log = nullptr) {
    RedisStore::Options o;
    o.port = server.port();
    o.tracking = tracking;
    return std::make_unique<RedisStore>(o, log);
  }
  std::unique_ptr<RedisStore> NewStore(bool tracking = true) {
    return NewStore(*server_, tracking);
  }

  // Writes `value` under `key` and reads it back: its version.
  uint64_t Write(RedisStore& s, std::string_view key, std::string_view value) {
    EXPECT_TRUE(s.Put(key, value, now_ + 3600).ok());
    auto got = s.Get(key, now_);
    EXPECT_TRUE(got.ok() && got->has_value());
    return got.ok() && got->has_value() ? (*got)->version : 0;
  }

  // Asks until the store answers from what it knows (its channel subscribed and `key` read);
  // false when it never does within 3 s.
  static bool Warm(RedisStore& s, std::string_view key, uint64_t version, int64_t now) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < deadline) {
      uint64_t before = s.local_answers();
      auto got = s.GetIfChanged(key, now, version);
      if (!got.ok() || !got->unchanged) {
        return false;
      }
      if (s.local_answers() > before) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  static long long Calls(const testing::RedisServer& server, const std::string& command) {
    auto info = server.Command({"INFO", "commandstats"});
    if (!info.has_value()) {
      return -1;
    }
    std::string needle = "cmdstat_" + command + ":calls=";
    size_t at = info->str.find(needle);
    return at == std::string::npos ? 0 : std::stoll(info->str.substr(at + needle.size()));
  }

  int64_t now_ = 0;
};

TEST_F(RedisTrackingTest, ARecordNobodyChangedIsConfirmedWithoutAskingRedis) {
  auto a = NewStore();
  uint64_t v = Write(*a, "session-a", "record a");
  ASSERT_TRUE(Warm(*a, "session-a", v, now_));
  ASSERT_TRUE(server_->Command({"CONFIG", "RESETSTAT"}).has_value());
  for (int i = 0; i < 100; ++i) {
    auto got = a->GetIfChanged("session-a", now_, v);
    ASSERT_TRUE(got.ok() && got->unchanged);
  }
  EXPECT_EQ(Calls(*server_, "getrange"), 0);
  EXPECT_EQ(Calls(*server_, "get"), 0);
}

TEST_F(RedisTrackingTest, TheStatusPageCountsWhoConfirmedACopyAndTheChannelsEvents) {
  LocalMetrics cells(1);
  auto a = NewStore();
  a->AttachMetrics(cells.metrics());
  uint64_t v = Write(*a, "session-a", "record a");
  ASSERT_TRUE(Warm(*a, "session-a", v, now_));
  const uint64_t by_redis =
      cells.metrics().Read(0).counters[static_cast<size_t>(Metric::kRedisCheckByRedis)];
  EXPECT_GE(by_redis, 1u);
  while (a->local_answers() % RedisStore::kTrackingCountBatch != 0) {
    ASSERT_TRUE(a->GetIfChanged("session-a", now_, v)->unchanged);
  }
  auto counters = cells.metrics().Read(0).counters;
  EXPECT_EQ(counters[static_cast<size_t>(Metric::kRedisCheckByTracking)], a->local_answers());
  EXPECT_EQ(counters[static_cast<size_t>(Metric::kRedisTrackingSubscribed)], 1u);
  EXPECT_EQ(counters[static_cast<size_t>(Metric::kRedisTrackingLost)], 0u);
  ASSERT_TRUE(server_->Command({"CLIENT", "KILL", "TYPE", "pubsub"}).has_value());
  ASSERT_TRUE(a->GetIfChanged("session-a", now_, v).ok());
  counters = cells.metrics().Read(0).counters;
  EXPECT_EQ(counters[static_cast<size_t>(Metric::kRedisTrackingLost)], 1u);
  EXPECT_EQ(counters[static_cast<size_t>(Metric::kRedisCheckByRedis)], by_redis + 1);
}

TEST_F(RedisTrackingTest, WithTrackingOffEveryReadAsksRedis) {
  auto a = NewStore(/*tracking=*/false);
  uint64_t v = Write(*a, "session-a", "record a");
  ASSERT_TRUE(server_->Command({"CONFIG", "RESETSTAT"}).has_value());
  for (int i = 0; i < 100; ++i) {
    auto got = a->GetIfChanged("session-a", now_, v);
    ASSERT_TRUE(got.ok() && got->unchanged);
  }
  EXPECT_EQ(Calls(*server_, "getrange"), 100);
  EXPECT_EQ(a->local_answers(), 0u);
  EXPECT_FALSE(a->tracking_alive());
}

TEST_F(RedisTrackingTest, AWriteByAnotherNodeIsSeenByTheVeryNextRead) {
  auto a = NewStore();
  auto b = NewStore();
  // Many rounds: the invalidation must be there when node B's write has returned, every time.
  for (int round = 0; round < 200; ++round) {
    std::string key = "session-" + std::to_string(round % 5);
    uint64_t v = Write(*a, key, "before " + std::to_string(round));
    ASSERT_TRUE(Warm(*a, key, v, now_)) << round;
    auto put = b->PutIfVersion(key, "after " + std::to_string(round), now_ + 3600, v, now_);
    ASSERT_TRUE(put.ok() && *put) << round;
    auto got = a->GetIfChanged(key, now_, v);
    ASSERT_TRUE(got.ok());
    ASSERT_FALSE(got->unchanged) << "round " << round << ": node A answered from its copy";
    ASSERT_TRUE(got->entry.has_value());
    EXPECT_EQ(got->entry->value, "after " + std::to_string(round));
  }
}

TEST_F(RedisTrackingTest, ALogoutOnAnotherNodeIsSeenByTheVeryNextRead) {
  auto a = NewStore();
  auto b = NewStore();
  for (int round = 0; round < 100; ++round) {
    std::string key = "session-" + std::to_string(round);
    uint64_t v = Write(*a, key, "record");
    ASSERT_TRUE(Warm(*a, key, v, now_)) << round;
    ASSERT_TRUE(b->Erase(key).ok());
    auto got = a->GetIfChanged(key, now_, v);
    ASSERT_TRUE(got.ok());
    ASSERT_FALSE(got->unchanged) << "round " << round;
    EXPECT_FALSE(got->entry.has_value()) << "round " << round;
  }
}

TEST_F(RedisTrackingTest, FlushallForgetsEveryRecord) {
  // Redis sends FLUSHALL's invalidation (a nil payload) a turn of its event loop after the
  // answer, unlike a key's: so this waits for it, at most 1 s, instead of reading at once.
  auto a = NewStore();
  uint64_t v = Write(*a, "session-a", "record");
  ASSERT_TRUE(Warm(*a, "session-a", v, now_));
  ASSERT_TRUE(server_->Command({"FLUSHALL"}).has_value());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    auto got = a->GetIfChanged("session-a", now_, v);
    ASSERT_TRUE(got.ok());
    seen = !got->unchanged && !got->entry.has_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(seen);
}

TEST_F(RedisTrackingTest, AKilledChannelMakesTheNodeAskRedisUntilItHasSubscribedAgain) {
  auto a = NewStore();
  auto b = NewStore();
  uint64_t v = Write(*a, "session-a", "record");
  ASSERT_TRUE(Warm(*a, "session-a", v, now_));
  auto killed = server_->Command({"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(killed.has_value() && killed->integer == 1);
  // The write's invalidation can never reach node A now; it must notice and ask.
  auto put = b->PutIfVersion("session-a", "changed", now_ + 3600, v, now_);
  ASSERT_TRUE(put.ok() && *put);
  uint64_t before = a->local_answers();
  auto got = a->GetIfChanged("session-a", now_, v);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->unchanged);
  ASSERT_TRUE(got->entry.has_value());
  EXPECT_EQ(got->entry->value, "changed");
  EXPECT_EQ(a->local_answers(), before);
  // It subscribes again (after its retry pause) and confirms without Redis once more.
  EXPECT_TRUE(Warm(*a, "session-a", got->entry->version, now_));
}

TEST_F(RedisTrackingTest, AMessageItCannotReadOnTheChannelMakesTheNodeForgetAndAskAgain) {
  // Anyone who may PUBLISH can put any bytes on the invalidation channel: a payload that is not
  // a list of keys drops the channel (the node asks Redis until it has subscribed again), and
  // a key under the prefix that is not one of ours forgets everything.
  auto a = NewStore();
  uint64_t v = Write(*a, "session-a", "record");
  for (const std::string payload : {"not a list of keys", ""}) {
    ASSERT_TRUE(Warm(*a, "session-a", v, now_)) << payload;
    auto published = server_->Command({"PUBLISH", "__redis__:invalidate", payload});
    ASSERT_TRUE(published.has_value() && published->integer == 1);
    // A PUBLISH's message may arrive just after its answer (unlike an invalidation): wait.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (a->tracking_alive() && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(a->GetIfChanged("session-a", now_, v).ok());
    }
    EXPECT_FALSE(a->tracking_alive()) << payload;
    uint64_t before = a->local_answers();
    auto got = a->GetIfChanged("session-a", now_, v);
    ASSERT_TRUE(got.ok() && got->unchanged) << "Redis still confirms it";
    EXPECT_EQ(a->local_answers(), before) << payload << ": answered from what it could not read";
  }
}

TEST_F(RedisTrackingTest, AForeignKeyWrittenUnderThePrefixMakesTheNodeForgetEverything) {
  auto a = NewStore();
  uint64_t v = Write(*a, "session-a", "record");
  ASSERT_TRUE(Warm(*a, "session-a", v, now_));
  ASSERT_TRUE(server_->Command({"SET", "coinpay:not-hex", "x"}).has_value());
  uint64_t before = a->local_answers();
  auto got = a->GetIfChanged("session-a", now_, v);
  ASSERT_TRUE(got.ok() && got->unchanged);
  EXPECT_EQ(a->local_answers(), before) << "a key it cannot name could be any of its own";
  EXPECT_TRUE(a->tracking_alive()) << "the channel itself is fine";
}

TEST_F(RedisTrackingTest, ParallelReadersAndAWriterNeverSeeTheOldVersionAfterTheWrite) {
  auto a = NewStore();
  auto b = NewStore();
  uint64_t v = Write(*a, "session-a", "old");
  ASSERT_TRUE(Warm(*a, "session-a", v, now_));
  std::atomic<bool> written{false};
  std::atomic<int> stale{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        bool after = written.load();
        auto got = a->GetIfChanged("session-a", now_, v);
        if (after && got.ok() && got->unchanged) {
          ++stale;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto put = b->PutIfVersion("session-a", "new", now_ + 3600, v, now_);
  ASSERT_TRUE(put.ok() && *put);
  written = true;
  for (auto& r : readers) {
    r.join();
  }
  EXPECT_EQ(stale.load(), 0);
}

TEST(RedisTrackingRefused, ARedisThatRefusesTrackingIsAskedEveryTimeAndSaysSoOnce) {
  testing::RedisServer server({"--rename-command", "CLIENT", ""});
  ASSERT_TRUE(server.ok()) << server.error();
  testing::CollectingLogSink log;
  RedisStore::Options o;
  o.port = server.port();
  RedisStore a(o, &log);
  RedisStore::Options ob = o;
  RedisStore b(ob);
  const int64_t now = WallNow();
  ASSERT_TRUE(a.Put("session-a", "record", now + 3600).ok());
  auto got = a.Get("session-a", now);
  ASSERT_TRUE(got.ok() && got->has_value());
  uint64_t v = (*got)->version;
  for (int i = 0; i < 50; ++i) {
    auto again = a.GetIfChanged("session-a", now, v);
    ASSERT_TRUE(again.ok() && again->unchanged);
  }
  EXPECT_EQ(a.local_answers(), 0u);
  EXPECT_FALSE(a.tracking_alive());
  ASSERT_TRUE(b.Erase("session-a").ok());
  auto gone = a.GetIfChanged("session-a", now, v);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->entry.has_value());
  size_t warnings = 0;
  for (const auto& [level, tag, message] : log.lines()) {
    if (tag == 1001) {
      ++warnings;
      EXPECT_EQ(level, LogLevel::kWarn);
      EXPECT_NE(message.find("CoinpayRedisTracking off"), std::string::npos) << message;
    }
  }
  EXPECT_EQ(warnings, 1u);
}

}  // namespace
}  // namespace coinpay
