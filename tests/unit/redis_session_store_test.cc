// RedisSessionStore::ParseUrl: what CoinpaySessionStore redis://... accepts, and error messages
// that say what is wrong without repeating the password. (Live Redis tests live elsewhere.)
#include "platform/redis_session_store.h"

#include <gtest/gtest.h>

#include <string>

namespace coinpay {
namespace {

RedisSessionStore::Options Parsed(std::string_view url) {
  auto o = RedisSessionStore::ParseUrl(url);
  EXPECT_TRUE(o.ok()) << url << ": " << (o.ok() ? "" : o.error().detail);
  return o.ok() ? *o : RedisSessionStore::Options{};
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
    auto o = RedisSessionStore::ParseUrl(url);
    ASSERT_FALSE(o.ok()) << url;
    EXPECT_EQ(o.code(), Errc::kConfig);
    EXPECT_NE(o.error().detail.find("redis://"), std::string::npos) << o.error().detail;
  }
}

TEST(RedisParseUrl, BadPortsAreRefused) {
  for (std::string_view url : {"redis://h:", "redis://h:0", "redis://h:65536", "redis://h:-1",
                               "redis://h:63x9", "redis://h:99999999999999999999"}) {
    auto o = RedisSessionStore::ParseUrl(url);
    ASSERT_FALSE(o.ok()) << url;
    EXPECT_EQ(o.code(), Errc::kConfig);
    EXPECT_NE(o.error().detail.find("port"), std::string::npos) << o.error().detail;
  }
}

TEST(RedisParseUrl, BadDatabaseNumbersAreRefused) {
  for (std::string_view url :
       {"redis://h/x", "redis://h/-1", "redis://h/1001", "redis://h/1/2", "redis://h/1a"}) {
    auto o = RedisSessionStore::ParseUrl(url);
    ASSERT_FALSE(o.ok()) << url;
    EXPECT_EQ(o.code(), Errc::kConfig);
    EXPECT_NE(o.error().detail.find("database"), std::string::npos) << o.error().detail;
  }
}

TEST(RedisParseUrl, MissingHostIsRefused) {
  for (std::string_view url : {"redis://", "redis://:6379", "redis://:pw@", "redis:///0"}) {
    auto o = RedisSessionStore::ParseUrl(url);
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
    auto o = RedisSessionStore::ParseUrl(url);
    ASSERT_FALSE(o.ok()) << url;
    EXPECT_EQ(o.error().detail.find(password), std::string::npos) << o.error().detail;
    EXPECT_EQ(o.error().detail.find("Hunter2"), std::string::npos) << o.error().detail;
  }
}

}  // namespace
}  // namespace coinpay
