// The bench-only session replicator (core/bench_replicate.h): every copy is a session as a
// sign-in stores it, under its own id, and the handler refuses what it should.
#include "core/bench_replicate.h"

#include <gtest/gtest.h>

#include <set>

#include "core/json.h"
#include "fakes.h"

namespace coinpay {
namespace {

using testing::InMemoryStore;
using testing::TestSite;

class BenchReplicateTest : public ::testing::Test {
 protected:
  // A signed-in user as the callback stores one: Sessions::Create with the user's record.
  std::string SignIn(std::string_view sid = {}) {
    SessionRecord r = t_.NewRecord("alice");
    r.user = "alice@example.com";
    r.claims = {{"email", "alice@example.com"}, {"name", "Alice"}};
    r.claims_json = R"({"sub":"alice","email":"alice@example.com"})";
    r.id_token = "id.tok.en";
    r.access_token = "at-123";
    r.refresh_token = "rt-456";
    r.access_expires_at = t_.clock.NowSeconds() + 3600;
    r.acr = "urn:coinpay:acr:strong";
    r.auth_time = t_.clock.NowSeconds();
    auto id = t_.sessions->Create(r, t_.clock.NowSeconds(), sid);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : std::string();
  }
  SessionRecord Stored(const std::string& id) {
    auto loaded = t_.sessions->LoadById(id, t_.clock.NowSeconds());
    EXPECT_TRUE(loaded.ok() && loaded->has_value()) << "session does not open";
    return loaded.ok() && loaded->has_value() ? (*loaded)->record : SessionRecord{};
  }
  // Every stored value that decodes as a session record, by store key.
  std::map<std::string, std::string> RecordValues() {
    std::map<std::string, std::string> out;
    for (const auto& k : t_.store.Keys()) {
      auto v = t_.store.Get(k, t_.clock.NowSeconds());
      if (v.ok() && v->has_value() && DecodeSession((*v)->value).has_value()) {
        out[k] = (*v)->value;
      }
    }
    return out;
  }
  Action Post(std::string_view body, std::string_view session_id) {
    std::string cookie = t_.session_config.cookie_name + "=" + std::string(session_id);
    RequestView req;
    req.method = "POST";
    req.cookie = cookie;
    req.form_body = body;
    Site site = t_.site();
    return HandleBenchReplicate(site, req);
  }

  TestSite t_;
};

TEST_F(BenchReplicateTest, CopiesAreStoredByteForByteAsTheSignInStoredItsSession) {
  const std::string source = SignIn();
  const auto before = RecordValues();
  ASSERT_EQ(before.size(), 1u);
  const std::string& signed_in_bytes = before.begin()->second;
  const auto signed_in_expiry = t_.store.ExpiryOf(before.begin()->first);

  auto made = ReplicateSession(*t_.sessions, Stored(source), 5, t_.clock.NowSeconds(), t_.random);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->written, 5);

  const auto after = RecordValues();
  EXPECT_EQ(after.size(), 6u);  // five new store keys: five distinct session ids
  for (const auto& [key, bytes] : after) {
    EXPECT_EQ(bytes, signed_in_bytes);
    EXPECT_EQ(t_.store.ExpiryOf(key), signed_in_expiry);
  }
}

TEST_F(BenchReplicateTest, ACopyOpensAsASessionOfTheSameUserUnderItsOwnId) {
  const std::string source = SignIn();
  t_.clock.Advance(30);
  auto made = ReplicateSession(*t_.sessions, Stored(source), 3, t_.clock.NowSeconds(), t_.random);
  ASSERT_TRUE(made.ok());
  ASSERT_NE(made->last_id, source);
  ASSERT_NE(made->first_id, made->last_id);
  EXPECT_EQ(made->last_id.size(), source.size());

  SessionRecord copy = Stored(made->last_id);
  SessionRecord original = Stored(source);
  EXPECT_EQ(copy.sub, "alice");
  EXPECT_EQ(copy.user, original.user);
  EXPECT_EQ(copy.issuer, original.issuer);
  EXPECT_EQ(copy.client_id, original.client_id);
  EXPECT_EQ(copy.claims, original.claims);
  EXPECT_EQ(copy.claims_json, original.claims_json);
  EXPECT_EQ(copy.access_token, "at-123");
  EXPECT_EQ(copy.refresh_token, "rt-456");
  EXPECT_EQ(copy.acr, original.acr);
  // Created now, as a sign-in now would be.
  EXPECT_EQ(copy.created_at, t_.clock.NowSeconds());
  EXPECT_EQ(original.created_at, t_.clock.NowSeconds() - 30);
}

TEST_F(BenchReplicateTest, WithBackchannelLogoutEachCopyIsIndexedLikeASignInFromANewBrowser) {
  t_.session_config.index_sessions = true;
  const std::string source = SignIn("op-sid-1");
  const size_t keys_before = t_.store.Keys().size();  // the record, its sid and sub sets
  ASSERT_EQ(keys_before, 3u);

  auto made = ReplicateSession(*t_.sessions, Stored(source), 4, t_.clock.NowSeconds(), t_.random);
  ASSERT_TRUE(made.ok());
  // Per copy: its record and a sid set of its own; the sub set is the user's, shared.
  EXPECT_EQ(t_.store.Keys().size(), keys_before + 4 * 2);

  // A logout token for the original sid ends only the original; one for the user ends all.
  auto by_sid = t_.sessions->DestroyBySid(*t_.provider_config, "op-sid-1", t_.clock.NowSeconds());
  ASSERT_TRUE(by_sid.ok());
  EXPECT_EQ(*by_sid, 1);
  auto by_sub = t_.sessions->DestroyBySub(*t_.provider_config, "alice", t_.clock.NowSeconds());
  ASSERT_TRUE(by_sub.ok());
  EXPECT_EQ(*by_sub, 5);
  auto gone = t_.sessions->LoadById(made->last_id, t_.clock.NowSeconds());
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(BenchReplicateTest, AFailedWriteStopsTheCopiesAndIsReported) {
  const std::string source = SignIn();
  const SessionRecord record = Stored(source);
  t_.store.Before(InMemoryStore::Op::kPut, [this] { t_.store.set_unavailable(true); });
  auto made = ReplicateSession(*t_.sessions, record, 3, t_.clock.NowSeconds(), t_.random);
  EXPECT_EQ(made.code(), Errc::kStoreUnavailable);
}

TEST_F(BenchReplicateTest, HandlerWritesTheCopiesAndNamesOneThatOpens) {
  const std::string source = SignIn();
  Action a = Post("count=7", source);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.content_type, "application/json");
  auto answer = Json::Parse(a.body);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->GetInt("written"), 7);
  auto first = answer->GetString("first");
  auto last = answer->GetString("last");
  ASSERT_TRUE(first.has_value() && last.has_value());
  EXPECT_NE(*first, *last);
  EXPECT_NE(*first, source);
  EXPECT_EQ(Stored(*first).sub, "alice");
  EXPECT_EQ(Stored(*last).sub, "alice");
  EXPECT_EQ(RecordValues().size(), 8u);
  EXPECT_TRUE(t_.log.HasTag(460));
}

TEST_F(BenchReplicateTest, HandlerRefusesABodyThatIsNotOneCountInRange) {
  const std::string source = SignIn();
  for (std::string body : {"", "count=0", "count=-1", "count=10001", "count=abc", "count=3x",
                           "count=1&count=2", "count=1&x=2", "n=3", "count=99999999999"}) {
    Action a = Post(body, source);
    EXPECT_EQ(a.status, 400) << body;
  }
  EXPECT_EQ(RecordValues().size(), 1u);
  EXPECT_TRUE(t_.log.HasTag(461));
  EXPECT_EQ(Post("count=10000", source).status, 200);  // the largest one call takes
}

TEST_F(BenchReplicateTest, HandlerRefusesWithoutALiveSession) {
  SignIn();
  EXPECT_EQ(Post("count=1", "").status, 403);
  EXPECT_EQ(Post("count=1", std::string(43, 'A')).status, 403);
  EXPECT_EQ(RecordValues().size(), 1u);
}

TEST_F(BenchReplicateTest, HandlerAnswers503WhenTheStoreFails) {
  const std::string source = SignIn();
  t_.store.set_unavailable(true);
  EXPECT_EQ(Post("count=1", source).status, 503);
  EXPECT_TRUE(t_.log.HasTag(462));
  t_.store.set_unavailable(false);
  t_.store.Before(InMemoryStore::Op::kPut, [this] { t_.store.set_unavailable(true); });
  EXPECT_EQ(Post("count=2", source).status, 503);
  EXPECT_TRUE(t_.log.HasTag(463));
}

}  // namespace
}  // namespace coinpay
