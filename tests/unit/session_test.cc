// Session records: the binary codec, and the Sessions manager's ids, timeouts and store keys.
#include "core/session.h"

#include <gtest/gtest.h>

#include <set>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/session_cookie.h"
#include "fakes.h"

namespace coinpay {
namespace {

SessionRecord SampleRecord() {
  SessionRecord r;
  r.provider = "coinbase";
  r.sub = "user-123";
  r.user = "alice@example.com";
  r.claims = {{"email", "alice@example.com"}, {"name", std::string("A\0B", 3)}};
  r.claims_json = R"({"sub":"user-123"})";
  r.id_token = "id.tok.en";
  r.access_token = "at";
  r.refresh_token = "rt";
  r.access_expires_at = 1700003600;
  r.created_at = 1700000000;
  r.last_seen_at = 1700000100;
  return r;
}

void ExpectSame(const SessionRecord& a, const SessionRecord& b) {
  EXPECT_EQ(a.provider, b.provider);
  EXPECT_EQ(a.sub, b.sub);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.claims, b.claims);
  EXPECT_EQ(a.claims_json, b.claims_json);
  EXPECT_EQ(a.id_token, b.id_token);
  EXPECT_EQ(a.access_token, b.access_token);
  EXPECT_EQ(a.refresh_token, b.refresh_token);
  EXPECT_EQ(a.access_expires_at, b.access_expires_at);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.last_seen_at, b.last_seen_at);
}

TEST(SessionCodec, RoundTripsEveryField) {
  auto back = DecodeSession(EncodeSession(SampleRecord()));
  ASSERT_TRUE(back.has_value());
  ExpectSame(*back, SampleRecord());
}

TEST(SessionCodec, RoundTripsEmptyRecordAndNegativeTimes) {
  SessionRecord r;
  r.created_at = -5;
  auto back = DecodeSession(EncodeSession(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->created_at, -5);
  EXPECT_TRUE(back->claims.empty());
}

TEST(SessionCodec, RefusesEveryTruncation) {
  std::string bytes = EncodeSession(SampleRecord());
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(DecodeSession(bytes.substr(0, len)).has_value()) << "length " << len;
  }
}

TEST(SessionCodec, RefusesTrailingBytesGarbageAndOtherVersions) {
  std::string bytes = EncodeSession(SampleRecord());
  EXPECT_FALSE(DecodeSession(bytes + "x").has_value());
  for (char version : {'\x01', '\x04'}) {
    std::string other = bytes;
    other[0] = version;
    EXPECT_FALSE(DecodeSession(other).has_value());
  }
  EXPECT_FALSE(DecodeSession("").has_value());
  EXPECT_FALSE(DecodeSession(std::string(64, '\xff')).has_value());
  // A length field claiming 4 GiB must not be believed.
  std::string huge = "\x01\xff\xff\xff\xff";
  EXPECT_FALSE(DecodeSession(huge).has_value());
}

TEST(SessionCodec, WithoutTokensReadsTheSameRecordButItsTokens) {
  std::string bytes = EncodeSession(SampleRecord());
  auto partial = DecodeSession(bytes, SessionParts::kWithoutTokens);
  ASSERT_TRUE(partial.has_value());
  SessionRecord expected = SampleRecord();
  expected.id_token.clear();
  expected.access_token.clear();
  expected.refresh_token.clear();
  ExpectSame(*partial, expected);
  EXPECT_EQ(partial->access_issued_at, expected.access_issued_at);
  // Still checked end to end: a damaged record is no record in either mode.
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(DecodeSession(bytes.substr(0, len), SessionParts::kWithoutTokens).has_value())
        << "length " << len;
  }
  EXPECT_FALSE(DecodeSession(bytes + "x", SessionParts::kWithoutTokens).has_value());
}

// The request path reads a record in place: the same fields as DecodeSession, and a record
// damaged anywhere is no record either way.
TEST(SessionCodec, AViewReadsTheSameFieldsInPlace) {
  std::string bytes = EncodeSession(SampleRecord());
  auto v = ViewSession(bytes);
  ASSERT_TRUE(v.has_value());
  SessionRecord r = SampleRecord();
  EXPECT_EQ(v->scope, r.scope);
  EXPECT_EQ(v->provider, r.provider);
  EXPECT_EQ(v->issuer, r.issuer);
  EXPECT_EQ(v->client_id, r.client_id);
  EXPECT_EQ(v->sub, r.sub);
  EXPECT_EQ(v->user, r.user);
  std::vector<std::pair<std::string, std::string>> claims;
  ForEachClaim(
      *v, [&](std::string_view name, std::string_view value) { claims.emplace_back(name, value); });
  EXPECT_EQ(claims, r.claims);
  EXPECT_EQ(v->claim_count, 2);
  EXPECT_EQ(v->claims_json, r.claims_json);
  EXPECT_EQ(v->id_token, r.id_token);
  EXPECT_EQ(v->access_token, r.access_token);
  EXPECT_EQ(v->refresh_token, r.refresh_token);
  EXPECT_EQ(v->access_expires_at, r.access_expires_at);
  EXPECT_EQ(v->access_issued_at, r.access_issued_at);
  EXPECT_EQ(v->created_at, r.created_at);
  EXPECT_EQ(v->last_seen_at, r.last_seen_at);
  EXPECT_EQ(v->acr, r.acr);
  EXPECT_EQ(v->auth_time, r.auth_time);
  EXPECT_GE(v->user.data(), bytes.data());
  EXPECT_LT(v->user.data(), bytes.data() + bytes.size()) << "copied, not read in place";
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(ViewSession(bytes.substr(0, len)).has_value()) << "length " << len;
  }
  EXPECT_FALSE(ViewSession(bytes + "x").has_value());
  std::string other = bytes;
  other[0] = '\x04';  // a version this module does not know
  EXPECT_FALSE(ViewSession(other).has_value());
}

TEST(SessionCodec, TimesOnlyCopiesNothingButTheTimes) {
  auto times = DecodeSession(EncodeSession(SampleRecord()), SessionParts::kTimesOnly);
  ASSERT_TRUE(times.has_value());
  EXPECT_EQ(times->created_at, SampleRecord().created_at);
  EXPECT_EQ(times->last_seen_at, SampleRecord().last_seen_at);
  EXPECT_EQ(times->access_expires_at, SampleRecord().access_expires_at);
  EXPECT_TRUE(times->user.empty());
  EXPECT_TRUE(times->claims.empty());
  EXPECT_TRUE(times->access_token.empty());
}

TEST(SessionCodec, RefusesAbsurdClaimCount) {
  std::string out = "\x01";
  for (int i = 0; i < 3; ++i) {
    out.append(4, '\0');  // three empty strings
  }
  out.append("\xff\xff\xff\xff\xff\xff\xff\x7f", 8);  // claim count
  EXPECT_FALSE(DecodeSession(out).has_value());
}

class SessionsTest : public ::testing::Test {
 protected:
  // The store keys that hold session records (the store also keeps sid/sub index entries).
  std::vector<std::string> RecordKeys() {
    std::vector<std::string> out;
    for (const auto& k : store_.Keys()) {
      auto v = store_.Get(k, clock_.NowSeconds());
      if (v.ok() && v->has_value() && DecodeSession((*v)->value).has_value()) {
        out.push_back(k);
      }
    }
    return out;
  }
  SessionsTest() {
    config_.idle_timeout_seconds = 3600;
    config_.max_age_seconds = 8 * 3600;
  }
  std::string CookieFor(const std::string& id) { return config_.cookie_name + "=" + id; }

  testing::FakeClock clock_;
  testing::FakeRandom random_;
  testing::InMemoryStore store_;
  SessionConfig config_;
  Sessions sessions_{store_, config_, random_};
};

TEST_F(SessionsTest, CreateGivesFresh43CharacterIds) {
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(id->size(), 43u);
    EXPECT_EQ(Base64UrlDecode(*id).value_or("").size(), 32u);
    ids.insert(*id);
  }
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(SessionsTest, CreateFailsWhenRandomFails) {
  random_.set_fail(true);
  EXPECT_EQ(sessions_.Create(SampleRecord(), clock_.NowSeconds()).code(), Errc::kCryptoFailure);
}

TEST_F(SessionsTest, LoadsByCookieAndStampsTimes) {
  int64_t now = clock_.NowSeconds();
  auto id = sessions_.Create(SampleRecord(), now);
  ASSERT_TRUE(id.ok());
  auto loaded = sessions_.Load("other=1; " + CookieFor(*id) + "; x=y", now);
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->id, *id);
  EXPECT_EQ((*loaded)->record.sub, "user-123");
  EXPECT_EQ((*loaded)->record.created_at, now);
  EXPECT_EQ((*loaded)->record.last_seen_at, now);
}

TEST_F(SessionsTest, StoreKeyIsNotTheId) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  auto keys = RecordKeys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_NE(keys[0], *id);
  EXPECT_EQ(keys[0].find(*id), std::string::npos);
  // Knowing the store key is not enough to present a session.
  auto loaded = sessions_.Load(CookieFor(Base64UrlEncode(keys[0])), clock_.NowSeconds());
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(SessionsTest, IgnoresMissingMalformedAndUnknownCookies) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  for (std::string header :
       {std::string(""), std::string("coinpay_session="), std::string("coinpay_session=short"),
        std::string("coinpay_session=") + std::string(43, '!'),
        std::string("coinpay_session=") + std::string(43, 'A'), std::string("other_name=") + *id}) {
    auto loaded = sessions_.Load(header, clock_.NowSeconds());
    ASSERT_TRUE(loaded.ok()) << header;
    EXPECT_FALSE(loaded->has_value()) << header;
  }
}

TEST_F(SessionsTest, FindsTheLiveSessionAmongSeveralCookies) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  std::string header = CookieFor(std::string(43, 'B')) + "; " + CookieFor(*id);
  auto loaded = sessions_.Load(header, clock_.NowSeconds());
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->id, *id);
}

TEST_F(SessionsTest, FindsTheLiveSessionBehindThreeUnknownWellFormedIds) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  std::string header;
  for (char ch : {'C', 'D', 'E'}) {
    header += CookieFor(std::string(42, ch) + "A") + "; ";
  }
  header += CookieFor(*id);
  auto loaded = sessions_.Load(header, clock_.NowSeconds());
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->id, *id);
}

TEST_F(SessionsTest, AnOverlongIdNamesNoSession) {
  ShortBytes b;
  EXPECT_TRUE(b.Assign(std::string(ShortBytes::kCapacity, 'x')));
  EXPECT_FALSE(b.Assign(std::string(ShortBytes::kCapacity + 1, 'y')));
  EXPECT_EQ(b, std::string(ShortBytes::kCapacity, 'x')) << "a refused assignment changes nothing";
  auto loaded = sessions_.LoadById(std::string(200, 'A'), clock_.NowSeconds());
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(SessionsTest, ExpiresAfterIdleTimeout) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  clock_.Advance(3599);
  auto still = sessions_.Load(CookieFor(*id), clock_.NowSeconds());
  ASSERT_TRUE(still.ok());
  ASSERT_TRUE(still->has_value());
  // A request used it: the idle timer restarts; a full idle period later it is gone.
  sessions_.Touch(**still, clock_.NowSeconds());
  clock_.Advance(3600);
  auto gone = sessions_.Load(CookieFor(*id), clock_.NowSeconds());
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(SessionsTest, ActivityKeepsSessionAliveUntilAbsoluteMaxAge) {
  int64_t start = clock_.NowSeconds();
  auto id = sessions_.Create(SampleRecord(), start);
  ASSERT_TRUE(id.ok());
  while (clock_.NowSeconds() + 1800 < start + 8 * 3600) {
    clock_.Advance(1800);
    auto loaded = sessions_.Load(CookieFor(*id), clock_.NowSeconds());
    ASSERT_TRUE(loaded.ok());
    ASSERT_TRUE(loaded->has_value()) << "at +" << clock_.NowSeconds() - start;
    sessions_.Touch(**loaded, clock_.NowSeconds());
  }
  clock_.Set(start + 8 * 3600);
  auto loaded = sessions_.Load(CookieFor(*id), clock_.NowSeconds());
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(SessionsTest, TouchesTheStoreAtMostOncePerMinute) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  int puts = store_.puts();
  auto use = [&] {
    auto loaded = sessions_.Load(CookieFor(*id), clock_.NowSeconds());
    ASSERT_TRUE(loaded.ok() && loaded->has_value());
    sessions_.Touch(**loaded, clock_.NowSeconds());
  };
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(5);
    use();
  }
  EXPECT_EQ(store_.puts(), puts);
  clock_.Advance(20);
  use();
  EXPECT_EQ(store_.puts(), puts + 1);
}

// A request that reads a session without its tokens and touches it must not lose them: the
// stored record afterwards is the full one with only last_seen_at moved, as with a full read.
class SessionsPartialReadTest : public SessionsTest,
                                public ::testing::WithParamInterface<SessionParts> {};

TEST_P(SessionsPartialReadTest, TouchAfterAPartialReadKeepsTheWholeRecord) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  clock_.Advance(120);
  int64_t now = clock_.NowSeconds();
  auto partial = sessions_.Load(CookieFor(*id), now, GetParam());
  ASSERT_TRUE(partial.ok() && partial->has_value());
  EXPECT_TRUE((*partial)->record.access_token.empty());
  EXPECT_EQ((*partial)->record.user,
            GetParam() == SessionParts::kTimesOnly ? "" : SampleRecord().user);
  ASSERT_NE((*partial)->stored, nullptr);
  ASSERT_TRUE((*partial)->stored->view.has_value());
  EXPECT_EQ((*partial)->stored->view->user, SampleRecord().user) << "readable in place";
  int puts = store_.puts();
  sessions_.Touch(**partial, now);
  EXPECT_EQ(store_.puts(), puts + 1);
  auto full = sessions_.Load(CookieFor(*id), now);
  ASSERT_TRUE(full.ok() && full->has_value());
  EXPECT_EQ((*full)->record.id_token, SampleRecord().id_token);
  EXPECT_EQ((*full)->record.access_token, SampleRecord().access_token);
  EXPECT_EQ((*full)->record.refresh_token, SampleRecord().refresh_token);
  EXPECT_EQ((*full)->record.last_seen_at, now);
  EXPECT_GT((*full)->version, (*partial)->version);
  // The same bytes a touch after a full read writes.
  SessionRecord expected = (*full)->record;
  EXPECT_EQ(EncodeSession(expected), [&] {
    auto v = store_.Get(RecordKeys().at(0), now);
    return (*v)->value;
  }());
}

INSTANTIATE_TEST_SUITE_P(WithoutTokensOrTimesOnly, SessionsPartialReadTest,
                         ::testing::Values(SessionParts::kWithoutTokens, SessionParts::kTimesOnly));

TEST_F(SessionsTest, StoreExpiryNeverOutlivesTheAbsoluteMaxAge) {
  int64_t start = clock_.NowSeconds();
  config_.max_age_seconds = 1000;
  auto id = sessions_.Create(SampleRecord(), start);
  ASSERT_TRUE(id.ok());
  auto keys = RecordKeys();
  ASSERT_EQ(keys.size(), 1u);
  auto expiry = store_.ExpiryOf(keys[0]);
  ASSERT_TRUE(expiry.has_value());
  EXPECT_EQ(*expiry, start + 1000);
}

TEST_F(SessionsTest, DestroyRemovesTheSession) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  ASSERT_EQ(RecordKeys().size(), 1u);
  ASSERT_TRUE(sessions_.Destroy(*id).ok());
  auto loaded = sessions_.Load(CookieFor(*id), clock_.NowSeconds());
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
  EXPECT_TRUE(RecordKeys().empty());
}

// The process keeps a returning id's store key (core/session_key_cache.h); a session ended
// after that is still gone, and the key is the one a fresh hash gives.
TEST_F(SessionsTest, ASessionEndedAfterItsIdWasSeenStaysEnded) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  for (int i = 0; i < 2; ++i) {
    auto loaded = sessions_.Load(CookieFor(*id), clock_.NowSeconds());
    ASSERT_TRUE(loaded.ok() && loaded->has_value());
    EXPECT_EQ((*loaded)->key, Sha256(*id));
  }
  ASSERT_TRUE(sessions_.Destroy(*id).ok());
  auto again = sessions_.Load(CookieFor(*id), clock_.NowSeconds());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST_F(SessionsTest, CorruptRecordIsTreatedAsNoSession) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  auto keys = RecordKeys();
  ASSERT_EQ(keys.size(), 1u);
  ASSERT_TRUE(store_.Put(keys[0], "garbage", clock_.NowSeconds() + 100).ok());
  auto loaded = sessions_.Load(CookieFor(*id), clock_.NowSeconds());
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(SessionsTest, StoreOutageIsAnErrorNotAnAnonymousUser) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  store_.set_unavailable(true);
  EXPECT_EQ(sessions_.Load(CookieFor(*id), clock_.NowSeconds()).code(), Errc::kStoreUnavailable);
  EXPECT_EQ(sessions_.Create(SampleRecord(), clock_.NowSeconds()).code(), Errc::kStoreUnavailable);
}

// A store that answers GetIfChanged from its versions where the values live, as shared memory
// does, and counts the values it sent.
class VersionedStore : public testing::InMemoryStore {
 public:
  Result<std::optional<SharedStore::Entry>> Get(std::string_view key, int64_t now) override {
    ++values_sent;
    return InMemoryStore::Get(key, now);
  }
  Result<Revalidation> GetIfChanged(std::string_view key, int64_t now,
                                    uint64_t known_version) override {
    auto got = InMemoryStore::Get(key, now);
    if (!got) {
      return got.error();
    }
    if (got->has_value() && (*got)->version == known_version) {
      return Revalidation{.unchanged = true, .entry = std::nullopt};
    }
    ++values_sent;
    return Revalidation{.entry = std::move(*got)};
  }
  int values_sent = 0;
};

class SessionsRevalidationTest : public ::testing::Test {
 protected:
  SessionsRevalidationTest() {
    config_.idle_timeout_seconds = 3600;
    config_.max_age_seconds = 8 * 3600;
  }
  std::string CookieFor(const std::string& id) { return config_.cookie_name + "=" + id; }
  std::optional<Sessions::Loaded> LoadNow(Sessions& from, const std::string& id) {
    auto loaded = from.Load(CookieFor(id), clock_.NowSeconds());
    EXPECT_TRUE(loaded.ok());
    return loaded.ok() ? std::move(*loaded) : std::nullopt;
  }

  testing::FakeClock clock_;
  testing::FakeRandom random_;
  VersionedStore store_;
  SessionConfig config_;
  Sessions sessions_{store_, config_, random_};
  Sessions other_process_{store_, config_, random_};  // another httpd child on the same store
};

TEST_F(SessionsRevalidationTest, AnUnchangedSessionIsReusedWithoutItsBytesBeingSentAgain) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  auto first = LoadNow(sessions_, *id);
  ASSERT_TRUE(first.has_value());
  const int sent = store_.values_sent;
  for (int i = 0; i < 3; ++i) {
    auto again = LoadNow(sessions_, *id);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->stored, first->stored) << "the same decoded record, identity included";
    EXPECT_EQ(again->version, first->version);
    EXPECT_EQ(again->record.user, "alice@example.com");
  }
  EXPECT_EQ(store_.values_sent, sent) << "revalidated by version, no value sent";
}

TEST_F(SessionsRevalidationTest, AChangeOrLogoutByAnotherProcessIsSeenAtTheNextRequest) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  auto first = LoadNow(sessions_, *id);
  ASSERT_TRUE(first.has_value());
  auto changed = other_process_.Update(
      *id, [](SessionRecord& r) { r.user = "alice.new@example.com"; }, clock_.NowSeconds());
  ASSERT_TRUE(changed.ok() && *changed);
  auto after = LoadNow(sessions_, *id);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->record.user, "alice.new@example.com");
  EXPECT_NE(after->stored, first->stored);
  EXPECT_NE(after->version, first->version);
  ASSERT_TRUE(other_process_.Destroy(*id).ok());
  EXPECT_FALSE(LoadNow(sessions_, *id).has_value());
}

TEST_F(SessionsRevalidationTest, HostsSharingAStoreShareTheKeptRecord) {
  // The key cache is per process, shared by every virtual host's Sessions.
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  auto mine = LoadNow(sessions_, *id);
  ASSERT_TRUE(mine.has_value());
  const int sent = store_.values_sent;
  auto theirs = LoadNow(other_process_, *id);
  ASSERT_TRUE(theirs.has_value());
  EXPECT_EQ(store_.values_sent, sent);
  EXPECT_EQ(theirs->stored, mine->stored);
}

TEST_F(SessionsRevalidationTest, ARecordKeptFromAnotherStoreIsNeverTakenForCurrent) {
  // Another virtual host with its own store: the same id (the fake random repeats it) at the
  // same version there is another session, and is read whole.
  testing::FakeRandom random;
  VersionedStore store;
  Sessions elsewhere{store, config_, random};
  auto here = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  SessionRecord bob = SampleRecord();
  bob.user = "bob@example.com";
  auto there = elsewhere.Create(bob, clock_.NowSeconds());
  ASSERT_TRUE(here.ok() && there.ok());
  ASSERT_EQ(*here, *there);
  auto mine = LoadNow(sessions_, *here);
  ASSERT_TRUE(mine.has_value());
  auto theirs = LoadNow(elsewhere, *there);
  ASSERT_TRUE(theirs.has_value());
  ASSERT_EQ(theirs->version, mine->version) << "the case this guards against";
  EXPECT_EQ(theirs->record.user, "bob@example.com");
  auto mine_again = LoadNow(sessions_, *here);
  ASSERT_TRUE(mine_again.has_value());
  EXPECT_EQ(mine_again->record.user, "alice@example.com");
}

// The glue keeps a SessionReadHint per client connection (httpd/request_record.h).
class SessionsHintTest : public SessionsRevalidationTest {
 protected:
  std::optional<Sessions::Loaded> LoadOnConnection(const std::string& id) {
    const std::string header = CookieFor(id);
    const ModuleCookies found = FindModuleCookies(config_, header);
    auto loaded = sessions_.Load(found.session_ids.span(), clock_.NowSeconds(),
                                 SessionParts::kTimesOnly, connection_);
    EXPECT_TRUE(loaded.ok());
    if (!loaded.ok() || *loaded == nullptr) {
      return std::nullopt;
    }
    return **loaded;  // a copy: the connection keeps its own
  }
  SessionReadHint connection_;
};

TEST_F(SessionsHintTest, TheNextRequestOnAConnectionStartsFromWhatTheLastOneRead) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  auto first = LoadOnConnection(*id);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(connection_.loaded->id.view(), *id);
  EXPECT_EQ(connection_.loaded->key.view(), Sha256(*id));
  EXPECT_EQ(connection_.loaded->stored, first->stored);
  const int sent = store_.values_sent;
  auto again = LoadOnConnection(*id);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->stored, first->stored);
  EXPECT_EQ(again->key.view(), Sha256(*id));
  EXPECT_EQ(store_.values_sent, sent);
}

TEST_F(SessionsHintTest, AnotherUsersRequestOnTheSameConnectionGetsItsOwnSession) {
  // A reverse proxy may carry several users' requests on one connection.
  auto alice = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  SessionRecord b = SampleRecord();
  b.user = "bob@example.com";
  auto bob = sessions_.Create(b, clock_.NowSeconds());
  ASSERT_TRUE(alice.ok() && bob.ok());
  ASSERT_TRUE(LoadOnConnection(*alice).has_value());
  auto as_bob = LoadOnConnection(*bob);
  ASSERT_TRUE(as_bob.has_value());
  EXPECT_EQ(as_bob->stored->view->user, "bob@example.com");
  EXPECT_EQ(as_bob->key.view(), Sha256(*bob));
  EXPECT_EQ(connection_.loaded->id.view(), *bob);
  auto as_alice = LoadOnConnection(*alice);
  ASSERT_TRUE(as_alice.has_value());
  EXPECT_EQ(as_alice->stored->view->user, "alice@example.com");
  // An id no session has finds nothing, and leaves the connection's last session as it was.
  EXPECT_FALSE(LoadOnConnection(std::string(43, 'A')).has_value());
  EXPECT_EQ(connection_.loaded->id.view(), *alice);
}

TEST_F(SessionsHintTest, AChangeOrLogoutElsewhereIsSeenOnTheConnection) {
  auto id = sessions_.Create(SampleRecord(), clock_.NowSeconds());
  ASSERT_TRUE(id.ok());
  auto first = LoadOnConnection(*id);
  ASSERT_TRUE(first.has_value());
  auto changed = other_process_.Update(
      *id, [](SessionRecord& r) { r.user = "alice.new@example.com"; }, clock_.NowSeconds());
  ASSERT_TRUE(changed.ok() && *changed);
  auto after = LoadOnConnection(*id);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->stored->view->user, "alice.new@example.com");
  EXPECT_EQ(connection_.loaded->stored, after->stored);
  ASSERT_TRUE(other_process_.Destroy(*id).ok());
  EXPECT_FALSE(LoadOnConnection(*id).has_value());
  EXPECT_FALSE(connection_.loaded.has_value())
      << "the connection keeps nothing of an ended session";
  EXPECT_FALSE(LoadOnConnection(*id).has_value());
}

}  // namespace
}  // namespace coinpay
