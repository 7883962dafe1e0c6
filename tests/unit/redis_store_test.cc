// RedisStore: what CoinpaySessionStore redis://... accepts (errors never repeat the
// password), then every store operation against a real redis-server started for the suite, bare
// and under SealedStore.
#include "platform/redis_store.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/dpop_proof.h"
#include "core/sealed_store.h"
#include "fakes.h"
#include "redis_server.h"

namespace coinpay {
namespace {

RedisOptions Parsed(std::string_view url) {
  auto o = ParseRedisUrl(url);
  EXPECT_TRUE(o.ok()) << url << ": " << (o.ok() ? "" : o.error().detail);
  return o.ok() ? *o : RedisOptions{};
}

TEST(RedisParseUrl, HostAloneTakesTheDefaults) {
  auto o = Parsed("redis://cache.internal");
  EXPECT_EQ(o.host, "cache.internal");
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.db, 0);
  EXPECT_EQ(o.password, "");
  EXPECT_EQ(o.prefix, "coinpay:");
}

TEST(RedisParseUrl, ReadsThePort) {
  auto o = Parsed("redis://10.0.0.5:6380");
  EXPECT_EQ(o.host, "10.0.0.5");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(Parsed("redis://h:1").port, 1);
  EXPECT_EQ(Parsed("redis://h:65535").port, 65535);
}

TEST(RedisParseUrl, ReadsTheDatabaseNumber) {
  auto o = Parsed("redis://h:6379/3");
  EXPECT_EQ(o.host, "h");
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.db, 3);
  EXPECT_EQ(Parsed("redis://h/12").db, 12);
  EXPECT_EQ(Parsed("redis://h/").db, 0);
}

TEST(RedisParseUrl, ReadsThePassword) {
  auto o = Parsed("redis://:s3cret@h:7000/2");
  EXPECT_EQ(o.password, "s3cret");
  EXPECT_EQ(o.host, "h");
  EXPECT_EQ(o.port, 7000);
  EXPECT_EQ(o.db, 2);
}

TEST(RedisParseUrl, PasswordMayContainAtSignsAndColons) {
  auto o = Parsed("redis://:p@ss:w0rd@h");
  EXPECT_EQ(o.password, "p@ss:w0rd");
  EXPECT_EQ(o.host, "h");
}

TEST(RedisParseUrl, UserNameBeforeThePasswordIsIgnored) {
  auto o = Parsed("redis://default:pw@h");
  EXPECT_EQ(o.password, "pw");
  EXPECT_EQ(o.host, "h");
}

TEST(RedisParseUrl, OtherSchemesAreRefused) {
  for (std::string_view url : {"", "rediss://h", "http://h", "h:6379", "REDIS://h", "redis:/h"}) {
    auto o = ParseRedisUrl(url);
    ASSERT_FALSE(o.ok()) << url;
    EXPECT_EQ(o.code(), Errc::kConfig);
    EXPECT_NE(o.error().detail.find("redis://"), std::string::npos) << o.error().detail;
  }
}

TEST(RedisParseUrl, BadPortsAreRefused) {
  for (std::string_view url : {"redis://h:", "redis://h:0", "redis://h:65536", "redis://h:-1",
                               "redis://h:63x9", "redis://h:99999999999999999999"}) {
    auto o = ParseRedisUrl(url);
    ASSERT_FALSE(o.ok()) << url;
    EXPECT_EQ(o.code(), Errc::kConfig);
    EXPECT_NE(o.error().detail.find("port"), std::string::npos) << o.error().detail;
  }
}

TEST(RedisParseUrl, BadDatabaseNumbersAreRefused) {
  for (std::string_view url :
       {"redis://h/x", "redis://h/-1", "redis://h/1001", "redis://h/1/2", "redis://h/1a"}) {
    auto o = ParseRedisUrl(url);
    ASSERT_FALSE(o.ok()) << url;
    EXPECT_EQ(o.code(), Errc::kConfig);
    EXPECT_NE(o.error().detail.find("database"), std::string::npos) << o.error().detail;
  }
}

TEST(RedisParseUrl, MissingHostIsRefused) {
  for (std::string_view url : {"redis://", "redis://:6379", "redis://:pw@", "redis:///0"}) {
    auto o = ParseRedisUrl(url);
    ASSERT_FALSE(o.ok()) << url;
    EXPECT_EQ(o.code(), Errc::kConfig);
    EXPECT_NE(o.error().detail.find("host"), std::string::npos) << o.error().detail;
  }
}

TEST(RedisParseUrl, ErrorsNeverNameThePassword) {
  const std::string password = "Hunter2-Sup3rSecret";
  for (const std::string& url : {"redis://:" + password + "@h:0", "redis://:" + password + "@h/zz",
                                 "redis://:" + password + "@", "redis://:" + password + "@:77",
                                 "redis://:" + password + "@h:port"}) {
    auto o = ParseRedisUrl(url);
    ASSERT_FALSE(o.ok()) << url;
    EXPECT_EQ(o.error().detail.find(password), std::string::npos) << o.error().detail;
    EXPECT_EQ(o.error().detail.find("Hunter2"), std::string::npos) << o.error().detail;
  }
}

// --- against a real redis-server ------------------------------------------------------------
// Redis keeps time itself (EXAT, EXPIRETIME), so these tests use the real clock.

int64_t WallNow() { return static_cast<int64_t>(std::time(nullptr)); }

// A value of every byte value, `size` bytes long, starting at `first`.
std::string BinaryValue(size_t size, unsigned char first) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    out[i] = static_cast<char>(static_cast<unsigned char>(first + i));
  }
  return out;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// One redis-server per suite, emptied before every test.
class RedisStoreTest : public testing::RedisSuite {
 protected:
  void SetUp() override {
    RedisSuite::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    now_ = WallNow();
    later_ = now_ + 3600;
  }

  std::unique_ptr<RedisStore> NewStore() {
    RedisStore::Options o;
    o.port = server_->port();
    return std::make_unique<RedisStore>(o);
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

  bool CompareAndSet(SharedStore& s, std::string_view key, std::string_view value, uint64_t version,
                     int64_t expires_at = 0) {
    auto put = s.PutIfVersion(key, value, expires_at != 0 ? expires_at : later_, version, now_);
    EXPECT_TRUE(put.ok()) << put.error().detail;
    return put.ok() && *put;
  }

  std::vector<std::string> Members(SharedStore& s, std::string_view key) {
    auto got = s.SetMembers(key, now_);
    EXPECT_TRUE(got.ok()) << got.error().detail;
    return got.ok() ? Sorted(*got) : std::vector<std::string>{};
  }

  // Every key in the server, whatever the store names them.
  std::vector<std::string> ServerKeys() {
    auto r = server_->Command({"KEYS", "*"});
    EXPECT_TRUE(r.has_value());
    return r.has_value() ? r->elements : std::vector<std::string>{};
  }

  // The one key the test wrote, as Redis names it.
  std::string OnlyServerKey() {
    auto keys = ServerKeys();
    EXPECT_EQ(keys.size(), 1u);
    return keys.empty() ? std::string() : keys.front();
  }

  long long IntegerReply(const std::vector<std::string>& args) {
    auto r = server_->Command(args);
    EXPECT_TRUE(r.has_value() && r->type == REDIS_REPLY_INTEGER) << args.front();
    return r.has_value() ? r->integer : -100;
  }

  int64_t now_ = 0;
  int64_t later_ = 0;
};

TEST_F(RedisStoreTest, PutThenGetRoundTripsWithTheVersionOfTheStoredBytes) {
  auto store = NewStore();
  ASSERT_TRUE(store->Put("session-a", "record a", later_).ok());
  auto got = Read(*store, "session-a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->value, "record a");
  EXPECT_EQ(got->version, RedisStore::VersionOf("record a"));
  EXPECT_NE(got->version, RedisStore::VersionOf("record b"));
  EXPECT_EQ(ValueAt(*store, "session-b"), std::nullopt);
  // Put's expiry is the absolute time asked for.
  EXPECT_EQ(IntegerReply({"EXPIRETIME", OnlyServerKey()}), later_);
}

TEST(RedisVersionOf, IsTheLastEightBytesOfTheStoredBytes) {
  // A sealed value ends in its AES-GCM tag: its last 8 bytes are new with every write.
  EXPECT_EQ(RedisStore::VersionOf("sealed:0123456789abcdef"), 0x3839616263646566ULL);
  EXPECT_EQ(RedisStore::VersionOf("ab"), 0x6162ULL);
  EXPECT_EQ(RedisStore::VersionOf(""), 0ULL);
}

TEST_F(RedisStoreTest, PutIfVersionWritesOverTheVersionReadAndChangesIt) {
  auto store = NewStore();
  ASSERT_TRUE(store->Put("k", "first", later_).ok());
  auto read = Read(*store, "k");
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(CompareAndSet(*store, "k", "second", read->version, now_ + 500));
  auto after = Read(*store, "k");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->value, "second");
  EXPECT_NE(after->version, read->version);
  EXPECT_EQ(after->version, RedisStore::VersionOf("second"));
  EXPECT_EQ(IntegerReply({"EXPIRETIME", OnlyServerKey()}), now_ + 500);
  // The version it replaced is spent.
  EXPECT_FALSE(CompareAndSet(*store, "k", "third", read->version));
  EXPECT_EQ(ValueAt(*store, "k"), "second");
}

TEST_F(RedisStoreTest, PutIfVersionFailsAfterAnotherWrite) {
  auto mine = NewStore();
  auto theirs = NewStore();  // another node
  ASSERT_TRUE(mine->Put("k", "v1", later_).ok());
  auto read = Read(*mine, "k");
  ASSERT_TRUE(read.has_value());
  ASSERT_TRUE(theirs->Put("k", "v2 written meanwhile", later_).ok());
  EXPECT_FALSE(CompareAndSet(*mine, "k", "v3", read->version));
  EXPECT_EQ(ValueAt(*mine, "k"), "v2 written meanwhile");
}

TEST_F(RedisStoreTest, PutIfVersionFailsAfterEraseAndDoesNotRecreateTheKey) {
  auto store = NewStore();
  ASSERT_TRUE(store->Put("k", "v1", later_).ok());
  auto read = Read(*store, "k");
  ASSERT_TRUE(read.has_value());
  ASSERT_TRUE(store->Erase("k").ok());
  EXPECT_FALSE(CompareAndSet(*store, "k", "v2", read->version));
  EXPECT_EQ(ValueAt(*store, "k"), std::nullopt);
  EXPECT_TRUE(ServerKeys().empty());
}

TEST_F(RedisStoreTest, PutIfVersionFailsForAnAbsentKey) {
  auto store = NewStore();
  EXPECT_FALSE(CompareAndSet(*store, "never-stored", "v", 0));
  EXPECT_FALSE(CompareAndSet(*store, "never-stored", "v", RedisStore::VersionOf("")));
  EXPECT_EQ(ValueAt(*store, "never-stored"), std::nullopt);
  EXPECT_TRUE(ServerKeys().empty());
}

TEST_F(RedisStoreTest, AddIsExclusiveAndEraseIfEqualsNeedsTheOwnersToken) {
  auto store = NewStore();
  auto first = store->Add("lock", "owner-1", now_ + 30, now_);
  ASSERT_TRUE(first.ok()) << first.error().detail;
  EXPECT_TRUE(*first);
  auto second = store->Add("lock", "owner-2", now_ + 30, now_);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  EXPECT_EQ(ValueAt(*store, "lock"), "owner-1");

  ASSERT_TRUE(store->EraseIfEquals("lock", "owner-2").ok());
  EXPECT_EQ(ValueAt(*store, "lock"), "owner-1");
  ASSERT_TRUE(store->EraseIfEquals("lock", "owner-").ok());  // a prefix is not equal
  EXPECT_EQ(ValueAt(*store, "lock"), "owner-1");
  ASSERT_TRUE(store->EraseIfEquals("lock", "owner-1").ok());
  EXPECT_EQ(ValueAt(*store, "lock"), std::nullopt);
  EXPECT_TRUE(store->EraseIfEquals("absent", "x").ok());

  auto again = store->Add("lock", "owner-2", now_ + 30, now_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again);
}

TEST_F(RedisStoreTest, AddLeaseCountsFromNowSoANodeWithAWrongClockWritesALiveLock) {
  auto store = NewStore();
  // A node whose clock is far behind (or ahead) still asks for a 2-second lease.
  auto behind = store->Add("lock-behind", "owner-1", 1002, 1000);
  ASSERT_TRUE(behind.ok()) << behind.error().detail;
  EXPECT_TRUE(*behind);
  auto ahead = store->Add("lock-ahead", "owner-1", now_ + 100'000 + 2, now_ + 100'000);
  ASSERT_TRUE(ahead.ok());
  EXPECT_TRUE(*ahead);
  auto keys = ServerKeys();
  ASSERT_EQ(keys.size(), 2u);
  for (const auto& key : keys) {
    long long pttl = IntegerReply({"PTTL", key});
    EXPECT_GT(pttl, 1000);
    EXPECT_LE(pttl, 2000);
  }
  auto contended = store->Add("lock-behind", "owner-2", 1002, 1000);
  ASSERT_TRUE(contended.ok());
  EXPECT_FALSE(*contended);

  // Redis ends the lease on its own clock.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!ServerKeys().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(ServerKeys().empty()) << "the 2 s leases were still there after 5 s";
  auto retaken = store->Add("lock-behind", "owner-2", 1002, 1000);
  ASSERT_TRUE(retaken.ok());
  EXPECT_TRUE(*retaken);
}

TEST_F(RedisStoreTest, ValuesWithNulBytesAndFourKilobytesOfBinarySurviveExactly) {
  auto store = NewStore();
  const std::string with_nuls("\0a\0b\xff\0", 6);
  const std::string big = BinaryValue(4096, 0);
  ASSERT_TRUE(store->Put("nuls", with_nuls, later_).ok());
  ASSERT_TRUE(store->Put("big", big, later_).ok());
  auto nuls = Read(*store, "nuls");
  ASSERT_TRUE(nuls.has_value());
  EXPECT_EQ(nuls->value, with_nuls);
  EXPECT_EQ(nuls->version, RedisStore::VersionOf(with_nuls));
  auto got = Read(*store, "big");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->value, big);
  EXPECT_EQ(got->version, RedisStore::VersionOf(big));
  // The server-side script reads the same bytes: compare-and-set over binary works.
  const std::string big2 = BinaryValue(4096, 7);
  EXPECT_TRUE(CompareAndSet(*store, "big", big2, got->version));
  EXPECT_EQ(ValueAt(*store, "big"), big2);
  EXPECT_TRUE(CompareAndSet(*store, "nuls", big, nuls->version));
  EXPECT_EQ(ValueAt(*store, "nuls"), big);
}

TEST_F(RedisStoreTest, SetAddKeepsEveryMemberOnceAndSetRemoveOnlyTheNamedOnes) {
  auto store = NewStore();
  // Members are raw hashes: any byte, NUL included.
  const std::string binary("\0\x01\xffm", 4);
  for (std::string_view m : {"m1", "m2", "m3"}) {
    ASSERT_TRUE(store->SetAdd("index", m, later_).ok());
  }
  ASSERT_TRUE(store->SetAdd("index", binary, later_).ok());
  ASSERT_TRUE(store->SetAdd("index", "m2", later_).ok());  // already there
  EXPECT_EQ(Members(*store, "index"), Sorted({"m1", "m2", "m3", binary}));

  ASSERT_TRUE(store->SetRemove("index", {"m2", binary, "not-a-member"}).ok());
  EXPECT_EQ(Members(*store, "index"), Sorted({"m1", "m3"}));
  ASSERT_TRUE(store->SetRemove("index", {}).ok());
  EXPECT_EQ(Members(*store, "index"), Sorted({"m1", "m3"}));
  ASSERT_TRUE(store->SetRemove("index", {"m1", "m3"}).ok());
  EXPECT_TRUE(Members(*store, "index").empty());
  EXPECT_TRUE(ServerKeys().empty()) << "an emptied set must disappear";
  EXPECT_TRUE(store->SetRemove("absent", {"m1"}).ok());
}

TEST_F(RedisStoreTest, SetMembersOfAnAbsentSetIsEmpty) {
  auto store = NewStore();
  auto got = store->SetMembers("never-indexed", now_);
  ASSERT_TRUE(got.ok()) << got.error().detail;
  EXPECT_TRUE(got->empty());
}

TEST_F(RedisStoreTest, SetAddNeverShortensTheSetsLife) {
  auto store = NewStore();
  ASSERT_TRUE(store->SetAdd("index", "m1", now_ + 1000).ok());
  const std::string key = OnlyServerKey();
  EXPECT_EQ(IntegerReply({"EXPIRETIME", key}), now_ + 1000);
  ASSERT_TRUE(store->SetAdd("index", "m2", now_ + 100).ok());
  EXPECT_EQ(IntegerReply({"EXPIRETIME", key}), now_ + 1000);
  ASSERT_TRUE(store->SetAdd("index", "m3", now_ + 2000).ok());
  EXPECT_EQ(IntegerReply({"EXPIRETIME", key}), now_ + 2000);
  // Re-adding a member still extends the set.
  ASSERT_TRUE(store->SetAdd("index", "m1", now_ + 3000).ok());
  EXPECT_EQ(IntegerReply({"EXPIRETIME", key}), now_ + 3000);
  EXPECT_EQ(Members(*store, "index"), Sorted({"m1", "m2", "m3"}));
}

TEST_F(RedisStoreTest, SetKeepsAtMostMaxSetMembers) {
  auto store = NewStore();
  std::vector<std::string> added;
  for (size_t i = 0; i < SharedStore::kMaxSetMembers + 6; ++i) {
    added.push_back("member-" + std::to_string(i));
    ASSERT_TRUE(store->SetAdd("index", added.back(), later_).ok());
  }
  auto members = Members(*store, "index");
  EXPECT_EQ(members.size(), SharedStore::kMaxSetMembers);
  for (const auto& m : members) {
    EXPECT_NE(std::find(added.begin(), added.end(), m), added.end()) << m;
  }
}

TEST_F(RedisStoreTest, ConcurrentSetAddsFromSeveralNodesAreAllKept) {
  constexpr int kNodes = 4;
  constexpr int kPerNode = 10;
  std::vector<std::thread> nodes;
  std::atomic<int> failures{0};
  for (int n = 0; n < kNodes; ++n) {
    nodes.emplace_back([this, n, &failures] {
      auto store = NewStore();
      for (int i = 0; i < kPerNode; ++i) {
        std::string m = "node" + std::to_string(n) + "-" + std::to_string(i);
        if (!store->SetAdd("index", m, later_).ok()) {
          failures++;
        }
      }
    });
  }
  for (auto& t : nodes) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  auto store = NewStore();
  EXPECT_EQ(Members(*store, "index").size(), static_cast<size_t>(kNodes * kPerNode));
}

// --- SealedStore over Redis: what production runs with CoinpaySessionStore redis://

class RedisEncryptedSessionStoreTest : public RedisStoreTest {
 protected:
  void SetUp() override {
    RedisStoreTest::SetUp();
    redis_ = NewStore();
    sealed_ = std::make_unique<SealedStore>(*redis_, std::string(32, 'k'), random_);
  }

  testing::FakeRandom random_;
  std::unique_ptr<RedisStore> redis_;
  std::unique_ptr<SealedStore> sealed_;
};

// Two nodes (each its own RedisStore under the seal, as each httpd node has) share one Redis:
// a DPoP proof replayed to the other node is refused there.
TEST_F(RedisEncryptedSessionStoreTest, ADPoPProofTakenOnOneNodeIsAReplayOnTheOther) {
  auto other_redis = NewStore();
  SealedStore other_node(*other_redis, std::string(32, 'k'), random_);
  CheckedDPoPProof proof{"jti-across-nodes", std::string(43, 'N'), now_};
  auto first = RememberDPoPProof(*sealed_, proof, now_);
  ASSERT_TRUE(first.ok()) << first.error().detail;
  EXPECT_TRUE(*first);
  auto again = RememberDPoPProof(other_node, proof, now_ + 1);
  ASSERT_TRUE(again.ok()) << again.error().detail;
  EXPECT_FALSE(*again);
  CheckedDPoPProof next{"jti-next", proof.jkt, now_};
  EXPECT_TRUE(*RememberDPoPProof(other_node, next, now_));
  // Kept only as long as the proof could be accepted: iat + the window (+1 s).
  auto keys = ServerKeys();
  ASSERT_EQ(keys.size(), 2u);
  for (const std::string& key : keys) {
    auto ttl = IntegerReply({"TTL", key});
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, kDPoPProofWindowSeconds + 1);
  }
}

TEST_F(RedisEncryptedSessionStoreTest, CompareAndSetThroughTheSealWorks) {
  const std::string record = "refresh_token=RT-secret;" + BinaryValue(1000, 3);
  ASSERT_TRUE(sealed_->Put("k", record, later_).ok());
  auto raw = Read(*redis_, "k");
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->value.find("RT-secret"), std::string::npos);
  auto read = Read(*sealed_, "k");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->value, record);
  EXPECT_EQ(read->version, raw->version);

  EXPECT_TRUE(CompareAndSet(*sealed_, "k", "updated record", read->version));
  auto after = Read(*sealed_, "k");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->value, "updated record");
  EXPECT_NE(after->version, read->version);
  EXPECT_FALSE(CompareAndSet(*sealed_, "k", "stale write", read->version));
  EXPECT_EQ(ValueAt(*sealed_, "k"), "updated record");
}

TEST_F(RedisEncryptedSessionStoreTest, TheSameRecordWrittenAgainIsANewVersion) {
  // Versions are hashes of the stored bytes: only the fresh IV of each seal keeps a session
  // erased and written again with the same record from showing its old version.
  ASSERT_TRUE(sealed_->Put("k", "same record", later_).ok());
  auto before = Read(*sealed_, "k");
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(sealed_->Erase("k").ok());
  ASSERT_TRUE(sealed_->Put("k", "same record", later_).ok());
  auto again = Read(*sealed_, "k");
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(again->version, before->version);
  EXPECT_FALSE(CompareAndSet(*sealed_, "k", "stale write", before->version));
  EXPECT_EQ(ValueAt(*sealed_, "k"), "same record");
}

TEST_F(RedisEncryptedSessionStoreTest, TamperedValueReadsAsAbsent) {
  ASSERT_TRUE(sealed_->Put("k", "record", later_).ok());
  auto raw = Read(*redis_, "k");
  ASSERT_TRUE(raw.has_value());
  std::string flipped = raw->value;
  flipped[flipped.size() / 2] ^= 0x01;
  ASSERT_TRUE(redis_->Put("k", flipped, later_).ok());
  auto got = sealed_->Get("k", now_);
  ASSERT_TRUE(got.ok()) << got.error().detail;
  EXPECT_FALSE(got->has_value());
}

TEST_F(RedisEncryptedSessionStoreTest, LocksAndSetsPassThroughUnsealed) {
  auto added = sealed_->Add("lock", "owner-1", now_ + 30, now_);
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE(*added);
  EXPECT_EQ(ValueAt(*redis_, "lock"), "owner-1");
  ASSERT_TRUE(sealed_->EraseIfEquals("lock", "owner-1").ok());
  EXPECT_EQ(ValueAt(*redis_, "lock"), std::nullopt);

  ASSERT_TRUE(sealed_->SetAdd("index", "m1", later_).ok());
  ASSERT_TRUE(sealed_->SetAdd("index", "m2", later_).ok());
  EXPECT_EQ(Members(*redis_, "index"), Sorted({"m1", "m2"}));
  EXPECT_EQ(Members(*sealed_, "index"), Sorted({"m1", "m2"}));
  ASSERT_TRUE(sealed_->SetRemove("index", {"m1", "m2"}).ok());
  EXPECT_TRUE(ServerKeys().empty());
}

// A refresh lock or a logout token's jti, written by Add, is seen through the seal: a waiting
// request must not take a held lock for a released one, nor a replay for a first delivery.
TEST_F(RedisEncryptedSessionStoreTest, MarkersWrittenByAddAreSeenThroughTheSeal) {
  auto absent = sealed_->Exists("lock", now_);
  ASSERT_TRUE(absent.ok()) << absent.error().detail;
  EXPECT_FALSE(*absent);
  auto added = sealed_->Add("lock", "owner-token", now_ + 30, now_);
  ASSERT_TRUE(added.ok() && *added);
  auto present = sealed_->Exists("lock", now_);
  ASSERT_TRUE(present.ok());
  EXPECT_TRUE(*present);
  ASSERT_TRUE(sealed_->EraseIfEquals("lock", "owner-token").ok());
  present = sealed_->Exists("lock", now_);
  ASSERT_TRUE(present.ok());
  EXPECT_FALSE(*present);
}

}  // namespace
}  // namespace coinpay
