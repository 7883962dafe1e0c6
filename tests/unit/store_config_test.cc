// Where sessions live: what `apachectl -t` says about CoinpaySessionStore, and what it reads.
#include "core/store_config.h"

#include <gtest/gtest.h>

#include <string>

namespace coinpay {
namespace {

TEST(StoreConfig, SharedMemoryByDefaultWithTheRowsSizes) {
  SiteSettings s;
  auto store = BuildStoreConfig(s, true);
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->redis);
  EXPECT_EQ(store->capacity, 10000u);
  EXPECT_EQ(store->entry_size, 8192u);
  EXPECT_EQ(store->value_bytes, 0u) << "the store derives the pool from the capacity";
}

TEST(StoreConfig, ValueMemoryIsReadInMiB) {
  SiteSettings s;
  s.session_value_memory.value = 300;
  auto store = BuildStoreConfig(s, true);
  ASSERT_TRUE(store) << store.error().detail;
  EXPECT_EQ(store->value_bytes, size_t{300} << 20);
}

TEST(StoreConfig, RefusesAValuePoolSmallerThanOneLargestEntryNamingTheFix) {
  SiteSettings s;
  s.session_entry_size.value = 4 << 20;  // 4 MiB records
  s.session_value_memory.value = 3;
  auto store = BuildStoreConfig(s, true);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().detail,
            "CoinpaySessionValueMemory 3 MiB cannot hold one entry of CoinpaySessionEntrySize "
            "4194304 bytes: raise CoinpaySessionValueMemory to 4 or more (about 3 KiB per "
            "signed-in user), or lower CoinpaySessionEntrySize");
  s.session_value_memory.value = 4;
  EXPECT_TRUE(BuildStoreConfig(s, true)) << "exactly one largest entry fits";
}

TEST(StoreConfig, RefusesAValuePoolTheStoreCannotAddress) {
  SiteSettings s;
  s.session_value_memory.value = (int64_t{1} << 20) + 1;
  auto store = BuildStoreConfig(s, true);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().detail,
            "CoinpaySessionValueMemory 1048577 MiB is more than the store can address: give at "
            "most 1048576 MiB");
}

TEST(StoreConfig, ValueMemoryIsNotCheckedForRedis) {
  SiteSettings s;
  s.session_store.value = "redis://127.0.0.1:6379/0";
  s.session_entry_size.value = 4 << 20;
  s.session_value_memory.value = 1;
  EXPECT_TRUE(BuildStoreConfig(s, true)) << "Redis keeps values in its own memory";
}

TEST(StoreConfig, RedisNeedsAPassphraseToSealSessionsAtRest) {
  SiteSettings s;
  s.session_store.value = "redis://127.0.0.1:6379/0";
  auto store = BuildStoreConfig(s, false);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().detail,
            "CoinpaySessionStore redis:// needs CoinpayCryptoPassphrase (it encrypts sessions at "
            "rest): set a long random secret, e.g. the output of `openssl rand -base64 32`");
  s.session_store.value = "shm";
  EXPECT_TRUE(BuildStoreConfig(s, false)) << "shared memory keeps nothing outside the server";
}

TEST(StoreConfig, RedisUrlAndTimeoutAreRead) {
  SiteSettings s;
  s.session_store.value = "redis://:pw@redis.internal:6380/2";
  s.redis_timeout.value = 3;
  auto store = BuildStoreConfig(s, true);
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->redis);
  EXPECT_EQ(store->redis_options.host, "redis.internal");
  EXPECT_EQ(store->redis_options.port, 6380);
  EXPECT_EQ(store->redis_options.db, 2);
  EXPECT_EQ(store->redis_options.password, "pw");
  EXPECT_EQ(store->redis_options.timeout_ms, 3000);
}

TEST(StoreConfig, RefusesAStoreThatIsNeitherShmNorRedisNamingTheFix) {
  const std::string fix = " (write shm, or redis://[:password@]host:port/db)";
  struct Case {
    const char* value;
    const char* why;
  };
  for (const Case& c :
       {Case{"memcached://x", "must look like redis://[:password@]host[:port][/db]"},
        Case{"redis://:secret@host:99999", "has a port that is not a number from 1 to 65535"},
        Case{"redis://host/db9", "has a database number that is not a small integer"},
        Case{"redis://:secret@", "names no host"}}) {
    SiteSettings s;
    s.session_store.value = c.value;
    auto store = BuildStoreConfig(s, true);
    ASSERT_FALSE(store) << c.value;
    EXPECT_EQ(store.error().detail, std::string("CoinpaySessionStore ") + c.why + fix);
    EXPECT_EQ(store.error().detail.find("secret"), std::string::npos);  // never the password
  }
}

}  // namespace
}  // namespace coinpay
