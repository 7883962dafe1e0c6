// Discovery parsing, CoinPay fallback paths, and the metadata / JWKS caches with their single
// flight and refetch limits (counted in FakeHttpClient requests).
#include "core/provider_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/provider_metadata.h"
#include "fakes.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::TestKey;
using testing::TestSite;

ProviderConfig Config() {
  ProviderConfig p;
  p.issuer = "https://op.example";
  return p;
}

TEST(ParseDiscovery, ReadsEndpoints) {
  auto m = ParseDiscovery(
      R"({"issuer":"https://op.example","authorization_endpoint":"https://op.example/a",)"
      R"("token_endpoint":"https://op.example/t","jwks_uri":"https://keys.op.example/k",)"
      R"("revocation_endpoint":"https://op.example/r","userinfo_endpoint":"https://op.example/u",)"
      R"("end_session_endpoint":"https://op.example/e","extra":[1,2]})",
      Config());
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m->authorization_endpoint, "https://op.example/a");
  EXPECT_EQ(m->token_endpoint, "https://op.example/t");
  EXPECT_EQ(m->jwks_uri, "https://keys.op.example/k");
  EXPECT_EQ(m->revocation_endpoint, "https://op.example/r");
  EXPECT_EQ(m->userinfo_endpoint, "https://op.example/u");
  EXPECT_EQ(m->end_session_endpoint, "https://op.example/e");
}

TEST(ParseDiscovery, RefusesIssuerMismatch) {
  for (const char* iss :
       {"https://evil.example", "https://op.example/", "", "HTTPS://op.example"}) {
    std::string doc =
        std::string(R"({"issuer":")") + iss +
        R"(","authorization_endpoint":"https://op.example/a",)"
        R"("token_endpoint":"https://op.example/t","jwks_uri":"https://op.example/k"})";
    EXPECT_EQ(ParseDiscovery(doc, Config()).code(), Errc::kIssuerMismatch) << iss;
  }
  EXPECT_EQ(ParseDiscovery(R"({"authorization_endpoint":"https://op.example/a"})", Config()).code(),
            Errc::kIssuerMismatch);
}

TEST(ParseDiscovery, RefusesEndpointsThatAreNotHttpUrls) {
  for (const char* a : {"javascript:alert(1)", "//evil.com/a", "/authorize",
                        "https://op.example@evil.com/a", "data:,x"}) {
    std::string doc =
        std::string(R"({"issuer":"https://op.example","authorization_endpoint":")") + a +
        R"(","token_endpoint":"https://op.example/t","jwks_uri":"https://op.example/k"})";
    EXPECT_EQ(ParseDiscovery(doc, Config()).code(), Errc::kBadJson) << a;
  }
}

TEST(ParseDiscovery, RefusesMissingRequiredEndpointsAndNonObjects) {
  EXPECT_EQ(ParseDiscovery(
                R"({"issuer":"https://op.example","authorization_endpoint":"https://op.example/a",)"
                R"("token_endpoint":"https://op.example/t"})",
                Config())
                .code(),
            Errc::kBadJson);
  EXPECT_EQ(ParseDiscovery("[]", Config()).code(), Errc::kBadJson);
  EXPECT_EQ(ParseDiscovery("{", Config()).code(), Errc::kBadJson);
  EXPECT_EQ(
      ParseDiscovery(R"({"issuer":"https://op.example","issuer":"https://op.example"})", Config())
          .code(),
      Errc::kBadJson);
}

TEST(ParseDiscovery, ConfiguredEndpointsWinAndFillGaps) {
  ProviderConfig c = Config();
  c.token_endpoint = "https://internal.op/t";
  c.jwks_uri = "https://internal.op/k";
  auto m = ParseDiscovery(
      R"({"issuer":"https://op.example","authorization_endpoint":"https://op.example/a",)"
      R"("token_endpoint":"https://op.example/t"})",
      c);
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m->token_endpoint, "https://internal.op/t");
  EXPECT_EQ(m->jwks_uri, "https://internal.op/k");
  EXPECT_EQ(m->authorization_endpoint, "https://op.example/a");
}

TEST(DefaultMetadata, UsesCoinpayDocumentedPaths) {
  ProviderMetadata m = DefaultMetadata(Config());
  EXPECT_EQ(m.issuer, "https://op.example");
  EXPECT_EQ(m.authorization_endpoint, "https://op.example/oauth/authorize");
  EXPECT_EQ(m.token_endpoint, "https://op.example/oauth/token");
  EXPECT_EQ(m.jwks_uri, "https://op.example/.well-known/jwks.json");
  EXPECT_EQ(m.revocation_endpoint, "https://op.example/oauth/revoke");
}

class ProviderClientTest : public ::testing::Test {
 protected:
  ProviderClientTest() {
    t_.ServeDiscovery();
    t_.ServeJwks(testing::MakeJwks({&k1_}));
  }
  int JwksFetches() const { return t_.http.CountFor(TestSite::kJwksUrl); }
  // True once `n` threads wait for another thread's fetch (bounded in real time).
  bool AllOthersWait(int n) {
    for (int i = 0; i < 10'000'000; ++i) {
      if (t_.provider->stats().waiting >= n) {
        return true;
      }
      std::this_thread::yield();
    }
    return false;
  }

  TestSite t_;
  const TestKey& k1_ = TestKey::Rsa("op-1");
  const TestKey& k2_ = TestKey::Rsa("op-2");
};

TEST_F(ProviderClientTest, DiscoversOnceAndCachesUntilTtl) {
  auto m = t_.provider->Metadata();
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ((*m)->token_endpoint, TestSite::kTokenUrl);
  ASSERT_TRUE(t_.provider->Metadata().ok());
  EXPECT_EQ(t_.http.CountFor(TestSite::kDiscoveryUrl), 1);
  t_.clock.Advance(3601);
  ASSERT_TRUE(t_.provider->Metadata().ok());
  EXPECT_EQ(t_.http.CountFor(TestSite::kDiscoveryUrl), 2);
  EXPECT_EQ(t_.provider->stats().metadata_fetches, 2);
}

TEST_F(ProviderClientTest, DiscoveryRequestAsksForJson) {
  ASSERT_TRUE(t_.provider->Metadata().ok());
  auto req = t_.http.LastFor(TestSite::kDiscoveryUrl);
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->method, "GET");
  bool accept_json = false;
  for (const auto& [k, v] : req->headers) {
    accept_json |= k == "Accept" && v == "application/json";
  }
  EXPECT_TRUE(accept_json);
}

TEST_F(ProviderClientTest, FallsBackToCoinpayPathsOn404) {
  t_.http.Respond(TestSite::kDiscoveryUrl, 404, "not found", "text/plain");
  auto m = t_.provider->Metadata();
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ((*m)->authorization_endpoint, "https://op.example/oauth/authorize");
  EXPECT_EQ((*m)->token_endpoint, "https://op.example/oauth/token");
  EXPECT_EQ((*m)->jwks_uri, "https://op.example/.well-known/jwks.json");
}

TEST_F(ProviderClientTest, RefusesDiscoveryWithAnotherIssuer) {
  t_.http.Respond(
      TestSite::kDiscoveryUrl, 200,
      R"({"issuer":"https://evil.example","authorization_endpoint":"https://evil.example/a",)"
      R"("token_endpoint":"https://evil.example/t","jwks_uri":"https://evil.example/k"})");
  EXPECT_EQ(t_.provider->Metadata().code(), Errc::kIssuerMismatch);
  EXPECT_TRUE(t_.log.HasTag(102));
}

TEST_F(ProviderClientTest, ReportsDiscoveryOutagesAndKeepsServingOldMetadata) {
  t_.http.Fail(TestSite::kDiscoveryUrl);
  EXPECT_EQ(t_.provider->Metadata().code(), Errc::kHttpFailure);
  t_.clock.Advance(5);
  t_.http.Respond(TestSite::kDiscoveryUrl, 500, "oops");
  EXPECT_EQ(t_.provider->Metadata().code(), Errc::kProviderError);
  t_.clock.Advance(5);
  t_.ServeDiscovery();
  ASSERT_TRUE(t_.provider->Metadata().ok());
  t_.clock.Advance(3601);
  t_.http.Fail(TestSite::kDiscoveryUrl);
  auto stale = t_.provider->Metadata();
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ((*stale)->token_endpoint, TestSite::kTokenUrl);
}

TEST_F(ProviderClientTest, DiscoveryOutageIsNotRetriedOnEveryRequest) {
  t_.http.Fail(TestSite::kDiscoveryUrl);
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(t_.provider->Metadata().ok());
  }
  EXPECT_EQ(t_.http.CountFor(TestSite::kDiscoveryUrl), 1);
  t_.clock.Advance(5);
  t_.ServeDiscovery();
  EXPECT_TRUE(t_.provider->Metadata().ok());
  EXPECT_EQ(t_.http.CountFor(TestSite::kDiscoveryUrl), 2);
}

TEST_F(ProviderClientTest, CachesJwks) {
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  ASSERT_TRUE(t_.provider->KeysFor("").ok());
  EXPECT_EQ(JwksFetches(), 1);
  ASSERT_TRUE(t_.provider->Verify(k1_.SignJwt("{}"), {"RS256"}).ok());
  EXPECT_EQ(JwksFetches(), 1);
}

TEST_F(ProviderClientTest, UnknownKidRefetchesAtMostOncePerInterval) {
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  EXPECT_EQ(JwksFetches(), 1);
  std::string stranger = k2_.SignJwt("{}");
  // Within the interval after the last fetch: refused without asking the provider.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(t_.provider->Verify(stranger, {"RS256"}).code(), Errc::kUnknownKid);
  }
  EXPECT_EQ(JwksFetches(), 1);
  t_.clock.Advance(61);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(t_.provider->Verify(stranger, {"RS256"}).code(), Errc::kUnknownKid);
  }
  EXPECT_EQ(JwksFetches(), 2);
  t_.clock.Advance(30);
  EXPECT_EQ(t_.provider->Verify(stranger, {"RS256"}).code(), Errc::kUnknownKid);
  EXPECT_EQ(JwksFetches(), 2);
  t_.clock.Advance(31);
  EXPECT_EQ(t_.provider->Verify(stranger, {"RS256"}).code(), Errc::kUnknownKid);
  EXPECT_EQ(JwksFetches(), 3);
}

TEST_F(ProviderClientTest, PicksUpRotatedKeyOnRefetch) {
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  t_.ServeJwks(testing::MakeJwks({&k1_, &k2_}));
  t_.clock.Advance(61);
  auto jwt = t_.provider->Verify(k2_.SignJwt(R"({"sub":"x"})"), {"RS256"});
  ASSERT_TRUE(jwt.ok()) << jwt.error().detail;
  EXPECT_EQ(JwksFetches(), 2);
  // The old key still verifies from the same (new) set, with no further fetch.
  EXPECT_TRUE(t_.provider->Verify(k1_.SignJwt("{}"), {"RS256"}).ok());
  EXPECT_EQ(JwksFetches(), 2);
}

TEST_F(ProviderClientTest, JwksOutageWithoutKeysRetriesAfterShortDelay) {
  t_.http.Fail(TestSite::kJwksUrl);
  EXPECT_EQ(t_.provider->KeysFor("op-1").code(), Errc::kHttpFailure);
  EXPECT_EQ(t_.provider->KeysFor("op-1").code(), Errc::kHttpFailure);
  EXPECT_EQ(JwksFetches(), 1);
  t_.ServeJwks(testing::MakeJwks({&k1_}));
  t_.clock.Advance(5);
  EXPECT_TRUE(t_.provider->KeysFor("op-1").ok());
  EXPECT_EQ(JwksFetches(), 2);
}

TEST_F(ProviderClientTest, JwksOutageKeepsOldKeys) {
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  t_.http.Respond(TestSite::kJwksUrl, 503, "down");
  t_.clock.Advance(61);
  EXPECT_EQ(t_.provider->Verify(k2_.SignJwt("{}"), {"RS256"}).code(), Errc::kUnknownKid);
  EXPECT_TRUE(t_.provider->Verify(k1_.SignJwt("{}"), {"RS256"}).ok());
  EXPECT_TRUE(t_.log.HasTag(103));
}

// The provider rotates its key right after we fetched the set: the next sign-in still works.
TEST_F(ProviderClientTest, KeyRotatedRightAfterAFetchIsPickedUpAtOnce) {
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  t_.ServeJwks(testing::MakeJwks({&k2_}));
  t_.clock.Advance(6);  // a few seconds, far less than the refetch interval
  auto jwt = t_.provider->Verify(k2_.SignJwt(R"({"sub":"x"})"), {"RS256"});
  ASSERT_TRUE(jwt.ok()) << jwt.error().detail;
  EXPECT_EQ(JwksFetches(), 2);
}

TEST_F(ProviderClientTest, FloodOfMadeUpKidsCostsOneFetchPerInterval) {
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  t_.clock.Advance(6);
  for (int i = 0; i < 100; ++i) {
    std::string forged = k2_.SignJwtWithKid("{}", "made-up-" + std::to_string(i));
    EXPECT_EQ(t_.provider->Verify(forged, {"RS256"}).code(), Errc::kUnknownKid);
  }
  EXPECT_EQ(JwksFetches(), 2);
  t_.clock.Advance(61);
  for (int i = 100; i < 200; ++i) {
    std::string forged = k2_.SignJwtWithKid("{}", "made-up-" + std::to_string(i));
    EXPECT_EQ(t_.provider->Verify(forged, {"RS256"}).code(), Errc::kUnknownKid);
  }
  EXPECT_EQ(JwksFetches(), 3);
}

// Serves `jwks` with a Cache-Control header.
void ServeJwksWithCacheControl(TestSite& t, const std::string& jwks, const std::string& cc) {
  t.http.Handle(TestSite::kJwksUrl, [jwks, cc](const HttpRequest&) {
    HttpResponse r;
    r.status = 200;
    r.content_type = "application/json";
    r.body = jwks;
    r.cache_control = cc;
    return Result<HttpResponse>(r);
  });
}

TEST_F(ProviderClientTest, WithdrawnKeyStopsVerifyingOnceTheSetHasAged) {
  ServeJwksWithCacheControl(t_, testing::MakeJwks({&k1_}), "public, max-age=300");
  ASSERT_TRUE(t_.provider->Verify(k1_.SignJwt("{}"), {"RS256"}).ok());
  // The provider withdraws op-1 (compromised) and publishes op-2 only.
  ServeJwksWithCacheControl(t_, testing::MakeJwks({&k2_}), "max-age=300");
  t_.clock.Advance(299);
  EXPECT_TRUE(t_.provider->Verify(k1_.SignJwt("{}"), {"RS256"}).ok()) << "still within max-age";
  EXPECT_EQ(JwksFetches(), 1);
  t_.clock.Advance(2);
  EXPECT_EQ(t_.provider->Verify(k1_.SignJwt("{}"), {"RS256"}).code(), Errc::kUnknownKid);
  EXPECT_EQ(JwksFetches(), 2);
  EXPECT_TRUE(t_.provider->Verify(k2_.SignJwt("{}"), {"RS256"}).ok());
}

TEST_F(ProviderClientTest, KeySetAgeDefaultsToAnHourAndMaxAgeIsBounded) {
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());  // no Cache-Control: one hour
  t_.clock.Advance(3599);
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  EXPECT_EQ(JwksFetches(), 1);
  t_.clock.Advance(2);
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  EXPECT_EQ(JwksFetches(), 2);
  // max-age=0 would mean a fetch per token: at least a minute instead.
  ServeJwksWithCacheControl(t_, testing::MakeJwks({&k1_}), "max-age=0");
  t_.clock.Advance(3601);
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  EXPECT_EQ(JwksFetches(), 3);
  t_.clock.Advance(59);
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  EXPECT_EQ(JwksFetches(), 3);
  t_.clock.Advance(2);
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  EXPECT_EQ(JwksFetches(), 4);
}

TEST_F(ProviderClientTest, AgedKeysKeepServingWhileTheProviderIsDown) {
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  t_.http.Fail(TestSite::kJwksUrl);
  t_.clock.Advance(3601);
  EXPECT_TRUE(t_.provider->Verify(k1_.SignJwt("{}"), {"RS256"}).ok());
  EXPECT_TRUE(t_.provider->Verify(k1_.SignJwt("{}"), {"RS256"}).ok());
  EXPECT_EQ(JwksFetches(), 2) << "one attempt, not one per token";
  EXPECT_TRUE(t_.log.HasTag(103));
}

// 16 threads meet an unknown kid at once while the JWKS request is slow: one request goes out.
TEST_F(ProviderClientTest, ConcurrentUnknownKidProducesOneFetch) {
  ASSERT_TRUE(t_.provider->KeysFor("op-1").ok());
  ASSERT_EQ(JwksFetches(), 1);
  t_.clock.Advance(61);

  testing::Latch release;
  std::atomic<int> inside{0};
  std::string rotated = testing::MakeJwks({&k1_, &k2_});
  t_.http.Handle(TestSite::kJwksUrl, [&](const HttpRequest&) {
    inside.fetch_add(1);
    release.Wait();
    HttpResponse r;
    r.status = 200;
    r.body = rotated;
    return Result<HttpResponse>(r);
  });

  std::string token = k2_.SignJwt(R"({"sub":"x"})");
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      if (t_.provider->Verify(token, {"RS256"}).ok()) {
        verified.fetch_add(1);
      }
    });
  }
  while (inside.load() == 0) {
    std::this_thread::yield();
  }
  // Every other thread queues behind the one fetch before it is answered.
  EXPECT_TRUE(AllOthersWait(15));
  release.Open();
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(inside.load(), 1);
  EXPECT_EQ(JwksFetches(), 2);
  EXPECT_EQ(verified.load(), 16);
}

TEST_F(ProviderClientTest, ConcurrentFirstUseDiscoversAndFetchesOnce) {
  testing::Latch release;
  std::atomic<int> inside{0};
  std::string doc = t_.DiscoveryJson();
  t_.http.Handle(TestSite::kDiscoveryUrl, [&](const HttpRequest&) {
    inside.fetch_add(1);
    release.Wait();
    HttpResponse r;
    r.status = 200;
    r.body = doc;
    return Result<HttpResponse>(r);
  });
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] { ok.fetch_add(t_.provider->KeysFor("op-1").ok() ? 1 : 0); });
  }
  while (inside.load() == 0) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(AllOthersWait(15));
  release.Open();
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(t_.http.CountFor(TestSite::kDiscoveryUrl), 1);
  EXPECT_EQ(JwksFetches(), 1);
  EXPECT_EQ(ok.load(), 16);
}

}  // namespace
}  // namespace coinpay
