// CachedStore over SealedStore over RedisStore, the module's Redis stack, against a real
// redis-server: a node's cached copy saves the transfer and the unseal only while Redis confirms
// its version; whatever another node (another connection, another process's stack) writes,
// erases or lets expire is seen on the very next read.
#include "core/cached_store.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/sealed_store.h"
#include "fakes.h"
#include "platform/redis_store.h"
#include "redis_server.h"

namespace coinpay {
namespace {

const std::string kAtRestKey(32, 'k');

// One node's store stack, as httpd/runtime.cc builds it, on its own connections.
struct Node {
  Node(int port, uint64_t seed, CachedStore::Limits limits = {}, bool tracking = true)
      : random(seed) {
    RedisStore::Options o;
    o.port = port;
    o.tracking = tracking;
    redis = std::make_unique<RedisStore>(o);
    sealed = std::make_unique<SealedStore>(*redis, kAtRestKey, random);
    cached = std::make_unique<CachedStore>(*sealed, limits);
  }
  testing::FakeRandom random;
  std::unique_ptr<RedisStore> redis;
  std::unique_ptr<SealedStore> sealed;
  std::unique_ptr<CachedStore> cached;
};

// A store that can be made to fail, to see what the cache does when the store cannot answer.
class SwitchableStore final : public SharedStore {
 public:
  explicit SwitchableStore(SharedStore& inner) : inner_(inner) {}
  std::atomic<bool> down{false};

  Status Put(std::string_view k, std::string_view v, int64_t e) override {
    return down ? Down() : inner_.Put(k, v, e);
  }
  Result<std::optional<Entry>> Get(std::string_view k, int64_t now) override {
    if (down) {
      return Down();
    }
    return inner_.Get(k, now);
  }
  Result<Revalidation> GetIfChanged(std::string_view k, int64_t now, uint64_t v) override {
    if (down) {
      return Down();
    }
    return inner_.GetIfChanged(k, now, v);
  }
  Result<bool> PutIfVersion(std::string_view k, std::string_view v, int64_t e, uint64_t ver,
                            int64_t now) override {
    if (down) {
      return Down();
    }
    return inner_.PutIfVersion(k, v, e, ver, now);
  }
  Status Erase(std::string_view k) override { return down ? Down() : inner_.Erase(k); }
  Result<bool> Add(std::string_view k, std::string_view v, int64_t e, int64_t now) override {
    return inner_.Add(k, v, e, now);
  }
  Status EraseIfEquals(std::string_view k, std::string_view v) override {
    return inner_.EraseIfEquals(k, v);
  }
  Result<bool> Exists(std::string_view k, int64_t now) override { return inner_.Exists(k, now); }
  Status SetAdd(std::string_view k, std::string_view m, int64_t e) override {
    return inner_.SetAdd(k, m, e);
  }
  Result<std::vector<std::string>> SetMembers(std::string_view k, int64_t now) override {
    return inner_.SetMembers(k, now);
  }
  Status SetRemove(std::string_view k, const std::vector<std::string>& m) override {
    return inner_.SetRemove(k, m);
  }

 private:
  static Error Down() { return Error{Errc::kStoreUnavailable, "store is down (test)"}; }
  SharedStore& inner_;
};

// A node of the release before this one, as it talks to Redis: the same keys and the same
// plain-string values (sealed by the same SealedStore above it), GET / SET EXAT / DEL, a
// version that is the first 64 bits of the SHA-1 of the stored bytes, and its compare-and-set
// script, quoted from that release. Only the record operations: the upgrade tests need no more.
class PreviousReleaseRedisStore final : public SharedStore {
 public:
  explicit PreviousReleaseRedisStore(const testing::RedisServer& server) : server_(server) {}

  Status Put(std::string_view k, std::string_view v, int64_t e) override {
    auto r = server_.Command({"SET", KeyOf(k), std::string(v), "EXAT", std::to_string(e)});
    return Answered(r) ? OkStatus() : Status(Failed());
  }
  Result<std::optional<Entry>> Get(std::string_view k, int64_t /*now*/) override {
    auto r = server_.Command({"GET", KeyOf(k)});
    if (!Answered(r)) {
      return Failed();
    }
    if (r->type != REDIS_REPLY_STRING) {
      return std::optional<Entry>();
    }
    auto version = VersionOf(r->str);
    if (!version) {
      return Failed();
    }
    return std::optional<Entry>(Entry{r->str, *version});
  }
  Result<bool> PutIfVersion(std::string_view k, std::string_view v, int64_t e, uint64_t version,
                            int64_t /*now*/) override {
    static constexpr char kScript[] =
        "local cur = redis.call('get', KEYS[1]) "
        "if cur and string.sub(redis.sha1hex(cur), 1, 16) == ARGV[2] then "
        "redis.call('set', KEYS[1], ARGV[1], 'EXAT', ARGV[3]) return 1 end "
        "return 0";
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(version));
    auto r =
        server_.Command({"EVAL", kScript, "1", KeyOf(k), std::string(v), hex, std::to_string(e)});
    if (!Answered(r)) {
      return Failed();
    }
    return r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  }
  Status Erase(std::string_view k) override {
    return Answered(server_.Command({"DEL", KeyOf(k)})) ? OkStatus() : Status(Failed());
  }
  Result<bool> Add(std::string_view, std::string_view, int64_t, int64_t) override {
    return NotHere();
  }
  Status EraseIfEquals(std::string_view, std::string_view) override { return NotHere(); }
  Result<bool> Exists(std::string_view, int64_t) override { return NotHere(); }
  Status SetAdd(std::string_view, std::string_view, int64_t) override { return NotHere(); }
  Result<std::vector<std::string>> SetMembers(std::string_view, int64_t) override {
    return NotHere();
  }
  Status SetRemove(std::string_view, const std::vector<std::string>&) override { return NotHere(); }

 private:
  // The first 64 bits of the SHA-1 of the stored bytes, as that release computed them (Redis's
  // own redis.sha1hex, which its compare-and-set script compares with).
  std::optional<uint64_t> VersionOf(const std::string& stored) const {
    auto r =
        server_.Command({"EVAL", "return string.sub(redis.sha1hex(ARGV[1]), 1, 16)", "0", stored});
    if (!Answered(r) || r->str.size() != 16) {
      return std::nullopt;
    }
    return std::stoull(r->str, nullptr, 16);
  }
  static std::string KeyOf(std::string_view key) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out = "coinpay:";
    for (char ch : key) {
      out += kDigits[static_cast<unsigned char>(ch) >> 4];
      out += kDigits[static_cast<unsigned char>(ch) & 15];
    }
    return out;
  }
  static bool Answered(const std::optional<testing::RedisServer::Reply>& r) {
    return r.has_value() && r->type != REDIS_REPLY_ERROR;
  }
  static Error Failed() { return Error{Errc::kStoreUnavailable, "old node: Redis failed"}; }
  static Error NotHere() { return Error{Errc::kStoreUnavailable, "not used by these tests"}; }
  const testing::RedisServer& server_;
};

// An old node's whole stack: SealedStore over the previous release's RedisStore.
struct OldNode {
  OldNode(const testing::RedisServer& server, uint64_t seed)
      : random(seed), redis(server), sealed(redis, kAtRestKey, random) {}
  testing::FakeRandom random;
  PreviousReleaseRedisStore redis;
  SealedStore sealed;
};

class CachedStoreTest : public testing::RedisSuite {
 protected:
  void SetUp() override {
    RedisSuite::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    now_ = static_cast<int64_t>(std::time(nullptr));
    later_ = now_ + 3600;
    a_ = std::make_unique<Node>(server_->port(), 1);
    b_ = std::make_unique<Node>(server_->port(), 2);
  }

  std::optional<SharedStore::Entry> Read(SharedStore& s, std::string_view key) {
    auto got = s.Get(key, now_);
    EXPECT_TRUE(got.ok()) << got.error().detail;
    return got.ok() ? *got : std::nullopt;
  }
  std::optional<std::string> ValueAt(SharedStore& s, std::string_view key) {
    auto got = Read(s, key);
    return got.has_value() ? std::optional<std::string>(got->value) : std::nullopt;
  }
  // The one key in the server, as Redis names it.
  std::string OnlyServerKey() {
    auto keys = server_->Command({"KEYS", "*"});
    EXPECT_TRUE(keys.has_value() && keys->elements.size() == 1u);
    return keys.has_value() && !keys->elements.empty() ? keys->elements.front() : std::string();
  }

  // Calls per command since the last CONFIG RESETSTAT (INFO commandstats), the INFO and
  // CONFIG RESETSTAT calls themselves left out.
  std::map<std::string, long long> CommandStats() {
    std::map<std::string, long long> out;
    auto info = server_->Command({"INFO", "commandstats"});
    EXPECT_TRUE(info.has_value());
    std::istringstream lines(info.has_value() ? info->str : "");
    std::string line;
    while (std::getline(lines, line)) {
      // cmdstat_getrange:calls=5,usec=12,usec_per_call=2.40,...
      const auto colon = line.find(':');
      const auto calls = line.find("calls=");
      if (line.rfind("cmdstat_", 0) != 0 || colon == std::string::npos ||
          calls == std::string::npos) {
        continue;
      }
      std::string name = line.substr(8, colon - 8);
      if (name != "info" && name != "config|resetstat") {
        out[name] = std::stoll(line.substr(calls + 6));
      }
    }
    return out;
  }

  int64_t now_ = 0;
  int64_t later_ = 0;
  std::unique_ptr<Node> a_;
  std::unique_ptr<Node> b_;
};

TEST_F(CachedStoreTest, ARepeatedReadOfAnUnchangedSessionOpensNothing) {
  const std::string record = "refresh_token=RT;" + std::string(3000, 'r');
  ASSERT_TRUE(a_->cached->Put("s", record, later_).ok());
  auto first = Read(*a_->cached, "s");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->value, record);
  EXPECT_EQ(a_->sealed->opened(), 1u);
  for (int i = 0; i < 5; ++i) {
    auto again = Read(*a_->cached, "s");
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->value, record);
    EXPECT_EQ(again->version, first->version);  // still good for PutIfVersion
  }
  EXPECT_EQ(a_->sealed->opened(), 1u);
  EXPECT_EQ(a_->cached->stats().hits, 5u);
  EXPECT_EQ(a_->cached->stats().misses, 1u);
}

TEST_F(CachedStoreTest, AWriteByAnotherNodeIsSeenOnTheNextRead) {
  ASSERT_TRUE(a_->cached->Put("s", "signed in", later_).ok());
  auto seen_by_a = Read(*a_->cached, "s");
  ASSERT_TRUE(seen_by_a.has_value());
  ASSERT_EQ(ValueAt(*a_->cached, "s"), "signed in");  // now held by a

  auto seen_by_b = Read(*b_->cached, "s");
  ASSERT_TRUE(seen_by_b.has_value());
  auto put = b_->cached->PutIfVersion("s", "refreshed", later_, seen_by_b->version, now_);
  ASSERT_TRUE(put.ok() && *put);

  auto after = Read(*a_->cached, "s");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->value, "refreshed");
  EXPECT_NE(after->version, seen_by_a->version);
  // And a's write over its stale version loses, as it must.
  auto stale = a_->cached->PutIfVersion("s", "stale", later_, seen_by_a->version, now_);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  EXPECT_EQ(ValueAt(*b_->cached, "s"), "refreshed");
}

TEST_F(CachedStoreTest, ALogoutOnAnotherNodeIsSeenAtOnce) {
  ASSERT_TRUE(a_->cached->Put("s", "signed in", later_).ok());
  ASSERT_EQ(ValueAt(*a_->cached, "s"), "signed in");
  ASSERT_EQ(ValueAt(*a_->cached, "s"), "signed in");
  ASSERT_EQ(a_->cached->size(), 1u);

  ASSERT_TRUE(b_->cached->Erase("s").ok());

  EXPECT_EQ(ValueAt(*a_->cached, "s"), std::nullopt);
  EXPECT_EQ(a_->cached->size(), 0u);  // the plaintext (tokens) does not linger either
}

TEST_F(CachedStoreTest, AnEraseWrittenStraightIntoRedisIsSeenAtOnce) {
  ASSERT_TRUE(a_->cached->Put("s", "signed in", later_).ok());
  ASSERT_EQ(ValueAt(*a_->cached, "s"), "signed in");
  auto del = server_->Command({"DEL", OnlyServerKey()});
  ASSERT_TRUE(del.has_value() && del->integer == 1);
  EXPECT_EQ(ValueAt(*a_->cached, "s"), std::nullopt);
}

TEST_F(CachedStoreTest, AnExpiredSessionIsGoneThoughItsCopyWasHeld) {
  ASSERT_TRUE(a_->cached->Put("s", "signed in", later_).ok());
  ASSERT_EQ(ValueAt(*a_->cached, "s"), "signed in");
  // Redis ends the entry (as at its expires_at); wait until Redis itself says it is gone.
  auto pexpire = server_->Command({"PEXPIRE", OnlyServerKey(), "20"});
  ASSERT_TRUE(pexpire.has_value() && pexpire->integer == 1);
  for (int i = 0; i < 500; ++i) {
    auto keys = server_->Command({"KEYS", "*"});
    ASSERT_TRUE(keys.has_value());
    if (keys->elements.empty()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ValueAt(*a_->cached, "s"), std::nullopt);
  EXPECT_EQ(a_->cached->size(), 0u);
}

TEST_F(CachedStoreTest, AnExpiryInThePastEndsTheSessionForEveryNode) {
  ASSERT_TRUE(a_->cached->Put("s", "signed in", later_).ok());
  auto held = Read(*a_->cached, "s");
  ASSERT_TRUE(held.has_value());
  // b rewrites it with an expiry already reached: Redis drops it, a must not answer its copy.
  auto b_read = Read(*b_->cached, "s");
  ASSERT_TRUE(b_read.has_value());
  auto put = b_->cached->PutIfVersion("s", "signed in", now_ - 1, b_read->version, now_);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(ValueAt(*a_->cached, "s"), std::nullopt);
}

TEST_F(CachedStoreTest, ThisNodesOwnWritesAreReadBackAtOnce) {
  ASSERT_TRUE(a_->cached->Put("s", "v1", later_).ok());
  auto v1 = Read(*a_->cached, "s");
  ASSERT_TRUE(v1.has_value());
  auto put = a_->cached->PutIfVersion("s", "v2", later_, v1->version, now_);
  ASSERT_TRUE(put.ok() && *put);
  auto v2 = Read(*a_->cached, "s");
  ASSERT_TRUE(v2.has_value());
  EXPECT_EQ(v2->value, "v2");
  EXPECT_NE(v2->version, v1->version);
  ASSERT_TRUE(a_->cached->Erase("s").ok());
  EXPECT_EQ(a_->cached->size(), 0u);
  EXPECT_EQ(ValueAt(*a_->cached, "s"), std::nullopt);
  ASSERT_TRUE(a_->cached->Put("s", "v3", later_).ok());
  EXPECT_EQ(ValueAt(*a_->cached, "s"), "v3");
}

// Tampered bytes are never opened as a session. A change to the last 8 bytes (the version)
// is a new value: it fails to open and reads as absent. A change that keeps them leaves the
// held copy in use: the authentic record this node opened, which Redis still names current;
// whoever can write Redis could as well have left the value alone or written an older sealed
// value back (SealedStore opens any value sealed for this key), so this gives them nothing.
TEST_F(CachedStoreTest, ATamperedValueIsNeverOpenedAsTheSession) {
  ASSERT_TRUE(a_->cached->Put("s", "signed in", later_).ok());
  ASSERT_EQ(ValueAt(*a_->cached, "s"), "signed in");
  auto raw = Read(*a_->redis, "s");
  ASSERT_TRUE(raw.has_value());
  std::string middle = raw->value;
  middle[middle.size() / 2] ^= 0x01;
  ASSERT_TRUE(a_->redis->Put("s", middle, later_).ok());
  EXPECT_EQ(ValueAt(*a_->cached, "s"), "signed in");   // the held, authentic copy
  EXPECT_EQ(ValueAt(*b_->cached, "s"), std::nullopt);  // a node without one opens: refused
  std::string tail = raw->value;
  tail.back() ^= 0x01;
  ASSERT_TRUE(a_->redis->Put("s", tail, later_).ok());
  EXPECT_EQ(ValueAt(*a_->cached, "s"), std::nullopt);
  EXPECT_EQ(a_->cached->size(), 0u);
}

TEST_F(CachedStoreTest, WhenTheStoreCannotAnswerTheHeldCopyIsNotServed) {
  SwitchableStore switchable(*a_->sealed);
  CachedStore cached(switchable);
  ASSERT_TRUE(cached.Put("s", "signed in", later_).ok());
  ASSERT_EQ(ValueAt(cached, "s"), "signed in");
  switchable.down = true;
  auto got = cached.Get("s", now_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::kStoreUnavailable);
  switchable.down = false;
  EXPECT_EQ(ValueAt(cached, "s"), "signed in");
}

TEST_F(CachedStoreTest, HoldsAtMostItsEntriesLeastRecentlyUsedGoFirst) {
  Node node(server_->port(), 3, CachedStore::Limits{3, size_t{1} << 20});
  for (const char* k : {"k1", "k2", "k3", "k4", "k5"}) {
    ASSERT_TRUE(node.cached->Put(k, std::string("value of ") + k, later_).ok());
  }
  for (const char* k : {"k1", "k2", "k3", "k4", "k5"}) {
    ASSERT_EQ(ValueAt(*node.cached, k), std::string("value of ") + k);
  }
  EXPECT_EQ(node.cached->size(), 3u);
  const uint64_t opened = node.sealed->opened();
  EXPECT_EQ(ValueAt(*node.cached, "k5"), "value of k5");  // held
  EXPECT_EQ(node.sealed->opened(), opened);
  EXPECT_EQ(ValueAt(*node.cached, "k1"), "value of k1");  // went first: fetched again
  EXPECT_EQ(node.sealed->opened(), opened + 1);
  EXPECT_EQ(node.cached->size(), 3u);
}

TEST_F(CachedStoreTest, HoldsAtMostItsBytes) {
  Node node(server_->port(), 3, CachedStore::Limits{100, 10000});
  const std::string big(4000, 'b');
  for (const char* k : {"k1", "k2", "k3", "k4"}) {
    ASSERT_TRUE(node.cached->Put(k, big, later_).ok());
    ASSERT_EQ(ValueAt(*node.cached, k), big);
  }
  EXPECT_EQ(node.cached->size(), 2u);
  ASSERT_TRUE(node.cached->Put("huge", std::string(20000, 'h'), later_).ok());
  EXPECT_EQ(ValueAt(*node.cached, "huge"), std::string(20000, 'h'));  // served, not held
  EXPECT_EQ(node.cached->size(), 2u);
}

// What Redis does per request for a held session with CoinpayRedisTracking off: one GETRANGE
// of 8 bytes, no script, no GET (a script that copies and hashes the value cost Redis ~9x a GET
// per request). With tracking on it is nothing at all (redis_tracking_test.cc).
TEST_F(CachedStoreTest, WithTrackingOffAnUnchangedSessionCostsRedisOneEightByteGetrange) {
  Node strict(server_->port(), 4, {}, /*tracking=*/false);
  ASSERT_TRUE(strict.cached->Put("s", "refresh_token=RT;" + std::string(3000, 'r'), later_).ok());
  ASSERT_TRUE(Read(*strict.cached, "s").has_value());
  auto reset = server_->Command({"CONFIG", "RESETSTAT"});
  ASSERT_TRUE(reset.has_value() && reset->str == "OK");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Read(*strict.cached, "s").has_value());
  }
  auto stats = CommandStats();
  EXPECT_EQ(stats["getrange"], 5);
  EXPECT_EQ(stats.size(), 1u) << "commands other than GETRANGE ran for cached reads";
  EXPECT_EQ(strict.sealed->opened(), 1u);
}

// A caller that holds the same version as the cache (the session key cache does) asks
// GetIfChanged: nothing is copied or opened while unchanged, and a change on another node
// comes back as the new value, which the cache then holds.
TEST_F(CachedStoreTest, ACallerHoldingTheSameVersionIsAnsweredUnchangedWithoutACopy) {
  ASSERT_TRUE(a_->cached->Put("s", "first", later_).ok());
  auto held = Read(*a_->cached, "s");
  ASSERT_TRUE(held.has_value());
  const uint64_t opened = a_->sealed->opened();
  const uint64_t hits = a_->cached->stats().hits;
  for (int i = 0; i < 3; ++i) {
    auto got = a_->cached->GetIfChanged("s", now_, held->version);
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got->unchanged);
    EXPECT_FALSE(got->entry.has_value());
  }
  EXPECT_EQ(a_->sealed->opened(), opened);
  EXPECT_EQ(a_->cached->stats().hits, hits + 3);

  auto on_b = Read(*b_->cached, "s");
  ASSERT_TRUE(on_b.has_value());
  auto put = b_->cached->PutIfVersion("s", "second", later_, on_b->version, now_);
  ASSERT_TRUE(put.ok() && *put);
  auto changed = a_->cached->GetIfChanged("s", now_, held->version);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(changed->unchanged);
  ASSERT_TRUE(changed->entry.has_value());
  EXPECT_EQ(changed->entry->value, "second");
  auto again = a_->cached->GetIfChanged("s", now_, changed->entry->version);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->unchanged) << "the new value is held now";

  ASSERT_TRUE(b_->cached->Erase("s").ok());
  auto gone = a_->cached->GetIfChanged("s", now_, changed->entry->version);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->unchanged);
  EXPECT_FALSE(gone->entry.has_value());
  EXPECT_EQ(a_->cached->size(), 0u) << "a logged-out session is not held";
}

TEST_F(CachedStoreTest, RedisAnswersUnchangedChangedOrAbsent) {
  ASSERT_TRUE(a_->redis->Put("s", "bytes", later_).ok());
  const uint64_t v = RedisStore::VersionOf("bytes");
  auto same = a_->redis->GetIfChanged("s", now_, v);
  ASSERT_TRUE(same.ok()) << same.error().detail;
  EXPECT_TRUE(same->unchanged);
  EXPECT_FALSE(same->entry.has_value());
  auto other = a_->redis->GetIfChanged("s", now_, v + 1);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->unchanged);
  ASSERT_TRUE(other->entry.has_value());
  EXPECT_EQ(other->entry->value, "bytes");
  EXPECT_EQ(other->entry->version, v);
  auto absent = a_->redis->GetIfChanged("nothing", now_, v);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->unchanged);
  EXPECT_FALSE(absent->entry.has_value());
}

// --- a rolling upgrade: nodes of the previous release and of this one share one Redis ---------
// The stored format did not change (a plain string, sealed the same way), so each reads what
// the other writes, and a write, refresh or logout on an old node is seen by a new node's
// cached read at once: its fresh IV gives the value new last bytes.

TEST_F(CachedStoreTest, ASessionAnOldNodeWroteIsReadAndHeldByANewNode) {
  OldNode old(*server_, 7);
  ASSERT_TRUE(old.sealed.Put("s", "signed in on an old node", later_).ok());
  auto first = Read(*a_->cached, "s");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->value, "signed in on an old node");
  EXPECT_EQ(ValueAt(*a_->cached, "s"), "signed in on an old node");
  EXPECT_EQ(a_->sealed->opened(), 1u);  // the second read was served by the held copy
  // The new node refreshes it in place; the old node reads the new value and can write over it.
  auto put = a_->cached->PutIfVersion("s", "refreshed on a new node", later_, first->version, now_);
  ASSERT_TRUE(put.ok() && *put);
  auto seen_by_old = Read(old.sealed, "s");
  ASSERT_TRUE(seen_by_old.has_value());
  EXPECT_EQ(seen_by_old->value, "refreshed on a new node");
  auto old_put =
      old.sealed.PutIfVersion("s", "touched on an old node", later_, seen_by_old->version, now_);
  ASSERT_TRUE(old_put.ok() && *old_put);
  EXPECT_EQ(ValueAt(*a_->cached, "s"), "touched on an old node");
  auto type = server_->Command({"TYPE", OnlyServerKey()});
  ASSERT_TRUE(type.has_value());
  EXPECT_EQ(type->str, "string");
}

TEST_F(CachedStoreTest, AnOldNodesRefreshIsSeenByANewNodesHeldCopyAtOnce) {
  ASSERT_TRUE(a_->cached->Put("s", "signed in", later_).ok());
  ASSERT_EQ(ValueAt(*a_->cached, "s"), "signed in");
  ASSERT_EQ(ValueAt(*a_->cached, "s"), "signed in");  // held
  OldNode old(*server_, 7);
  auto read = Read(old.sealed, "s");
  ASSERT_TRUE(read.has_value());
  // The same record written again: only the seal's fresh IV tells the versions apart.
  auto put = old.sealed.PutIfVersion("s", "signed in", later_, read->version, now_);
  ASSERT_TRUE(put.ok() && *put);
  const uint64_t opened = a_->sealed->opened();
  EXPECT_EQ(ValueAt(*a_->cached, "s"), "signed in");
  EXPECT_EQ(a_->sealed->opened(), opened + 1);  // fetched and opened again, not the copy
  auto changed =
      old.sealed.PutIfVersion("s", "refreshed", later_, Read(old.sealed, "s")->version, now_);
  ASSERT_TRUE(changed.ok() && *changed);
  EXPECT_EQ(ValueAt(*a_->cached, "s"), "refreshed");
}

TEST_F(CachedStoreTest, AnOldNodesLogoutIsSeenByANewNodeAtOnce) {
  ASSERT_TRUE(a_->cached->Put("s", "signed in", later_).ok());
  ASSERT_EQ(ValueAt(*a_->cached, "s"), "signed in");
  ASSERT_EQ(ValueAt(*a_->cached, "s"), "signed in");
  OldNode old(*server_, 7);
  ASSERT_TRUE(old.sealed.Erase("s").ok());
  EXPECT_EQ(ValueAt(*a_->cached, "s"), std::nullopt);
  EXPECT_EQ(a_->cached->size(), 0u);
}

TEST_F(CachedStoreTest, OldAndNewNodesCompareAndSetAgainstEachOthersWrites) {
  ASSERT_TRUE(a_->cached->Put("s", "v1", later_).ok());
  OldNode old(*server_, 7);
  auto old_read = Read(old.sealed, "s");
  auto new_read = Read(*a_->cached, "s");
  ASSERT_TRUE(old_read.has_value() && new_read.has_value());
  auto new_put = a_->cached->PutIfVersion("s", "v2 by new", later_, new_read->version, now_);
  ASSERT_TRUE(new_put.ok() && *new_put);
  // The old node's write over what it read before the new node's write loses...
  auto old_put = old.sealed.PutIfVersion("s", "stale by old", later_, old_read->version, now_);
  ASSERT_TRUE(old_put.ok());
  EXPECT_FALSE(*old_put);
  // ...and so does the new node's over a version an old node's write replaced.
  auto before = Read(*a_->cached, "s");
  ASSERT_TRUE(before.has_value());
  auto fresh = Read(old.sealed, "s");
  ASSERT_TRUE(fresh.has_value());
  ASSERT_TRUE(*old.sealed.PutIfVersion("s", "v3 by old", later_, fresh->version, now_));
  auto stale = b_->cached->PutIfVersion("s", "stale by new", later_, before->version, now_);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  EXPECT_EQ(ValueAt(*a_->cached, "s"), "v3 by old");
}

// Many threads of one node read while another node keeps rewriting: every answer is a value
// that was written, and once the writer stops, every thread's next read is the last value.
TEST_F(CachedStoreTest, ThreadsOfOneNodeNeverSeeAValueOlderThanRedisHolds) {
  ASSERT_TRUE(b_->cached->Put("s", "w0", later_).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        auto got = a_->cached->Get("s", now_);
        if (!got.ok() || !got->has_value() || (*got)->value.rfind('w', 0) != 0) {
          ++bad;
        }
      }
    });
  }
  std::string last;
  for (int i = 1; i <= 50; ++i) {
    auto cur = Read(*b_->cached, "s");
    ASSERT_TRUE(cur.has_value());
    last = "w" + std::to_string(i);
    auto put = b_->cached->PutIfVersion("s", last, later_, cur->version, now_);
    ASSERT_TRUE(put.ok() && *put);
  }
  stop = true;
  for (auto& r : readers) {
    r.join();
  }
  EXPECT_EQ(bad.load(), 0);
  std::vector<std::string> seen(4);
  std::vector<std::thread> finals;
  for (int t = 0; t < 4; ++t) {
    finals.emplace_back(
        [&, t] { seen[static_cast<size_t>(t)] = ValueAt(*a_->cached, "s").value_or(""); });
  }
  for (auto& f : finals) {
    f.join();
  }
  for (const auto& s : seen) {
    EXPECT_EQ(s, last);
  }
}

}  // namespace
}  // namespace coinpay
