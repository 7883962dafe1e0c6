// The interleavings that once broke session state, replayed deterministically: a fake provider
// that acts while it holds its answer, and a store that runs another "process" between a
// request's read and its write. Each test names what a user would have seen go wrong.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/backchannel_logout.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/logout_flow.h"
#include "core/session_authn.h"
#include "core/session_refresh.h"
#include "fakes.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::InMemoryStore;
using testing::TestKey;
using testing::TestSite;
using Op = InMemoryStore::Op;

constexpr char kEvent[] = R"({"http://schemas.openid.net/event/backchannel-logout":{}})";

std::string TokenJson(const std::string& access, const std::string& refresh) {
  return R"({"access_token":")" + access + R"(","token_type":"Bearer","expires_in":600,)" +
         R"("refresh_token":")" + refresh + "\"}";
}

class SessionRacesTest : public ::testing::Test {
 protected:
  SessionRacesTest() {
    t_.ServeDiscovery();
    t_.ServeJwks(testing::MakeJwks({&key_}));
    t_.http.Respond(TestSite::kRevokeUrl, 200, "");
    t_.session_config.index_sessions = true;
  }

  // A signed-in session whose access token (600 s) is due for refresh after 570 s.
  std::string NewSession(const std::string& sid = "sid-A") {
    SessionRecord r = t_.NewRecord("alice");
    r.access_token = "AT-1";
    r.refresh_token = "RT-1";
    r.access_issued_at = t_.clock.NowSeconds();
    r.access_expires_at = t_.clock.NowSeconds() + 600;
    auto id = t_.sessions->Create(r, t_.clock.NowSeconds(), sid);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : std::string();
  }
  static std::string Cookie(const std::string& id) { return "coinpay_session=" + id; }

  RequestView Browser(const std::string& cookie) {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.path = "/app/";
    req.unparsed_uri = "/app/";
    req.cookie = cookie;
    req.accept = "text/html";
    req.sec_fetch_mode = "navigate";
    return req;
  }
  // A location whose application receives the access token, so a due token is refreshed.
  static LocationOptions TokenPassing() {
    LocationOptions o;
    o.pass_access_token = true;
    return o;
  }
  Action Authn(const std::string& cookie, const LocationOptions& options = TokenPassing()) {
    Site site = t_.site();
    return AuthenticateSession(site, Browser(cookie), options);
  }
  Action Logout(const std::string& cookie) {
    Site site = t_.site();
    return HandleLogout(site, Browser(cookie));
  }
  Action BackchannelLogout(const std::string& jti) {
    std::string claims = std::string(R"({"iss":")") + TestSite::kIssuer + R"(","aud":")" +
                         TestSite::kClientId + R"(","iat":)" +
                         std::to_string(t_.clock.NowSeconds()) + R"(,"jti":")" + jti +
                         R"(","sid":"sid-A","sub":"alice","events":)" + kEvent + "}";
    Site site = t_.site();
    return HandleBackchannelLogout(site, "logout_token=" + UrlEncode(key_.SignJwt(claims)));
  }
  std::optional<SessionRecord> Stored(const std::string& id) {
    auto got = t_.sessions->LoadById(id, t_.clock.NowSeconds());
    EXPECT_TRUE(got.ok());
    if (!got.ok() || !got->has_value()) {
      return std::nullopt;
    }
    return (*got)->record;
  }
  // The token endpoint hands out AT-2 / RT-2, running `meanwhile` before it answers (the
  // provider holds its answer while the user does something else).
  void TokenEndpointHolds(std::function<void()> meanwhile) {
    t_.http.Handle(TestSite::kTokenUrl, [meanwhile](const HttpRequest&) {
      meanwhile();
      HttpResponse r;
      r.status = 200;
      r.content_type = "application/json";
      r.body = TokenJson("AT-2", "RT-2");
      return Result<HttpResponse>(r);
    });
  }
  bool Revoked(const std::string& token) {
    for (const auto& req : t_.http.requests()) {
      if (req.url == TestSite::kRevokeUrl && req.body.find("token=" + token) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  TestSite t_;
  const TestKey& key_ = TestKey::Rsa("rsa-races-1");
};

TEST_F(SessionRacesTest, LogoutDuringARefreshIsNotUndoneWhenTheRefreshReturns) {
  std::string id = NewSession();
  t_.clock.Advance(580);
  TokenEndpointHolds([&] {
    Action out = Logout(Cookie(id));
    EXPECT_EQ(out.status, 302);
  });
  Action during = Authn(Cookie(id));
  EXPECT_NE(during.kind, Action::Kind::kAllow) << "the request that refreshed went on signed in";
  EXPECT_FALSE(Stored(id).has_value()) << "the refresh brought the logged-out session back";
  EXPECT_NE(Authn(Cookie(id)).kind, Action::Kind::kAllow);
  // What the provider issued to the discarded refresh is revoked, not left valid.
  EXPECT_TRUE(Revoked("RT-2"));
  EXPECT_TRUE(t_.log.HasTag(175));
}

TEST_F(SessionRacesTest, BackchannelLogoutDuringARefreshIsNotUndoneAndStaysFindable) {
  std::string id = NewSession();
  t_.clock.Advance(580);
  TokenEndpointHolds([&] { EXPECT_EQ(BackchannelLogout("jti-1").status, 200); });
  EXPECT_NE(Authn(Cookie(id)).kind, Action::Kind::kAllow);
  EXPECT_FALSE(Stored(id).has_value());
  EXPECT_TRUE(Revoked("RT-2"));
  // The user signs in again with the same provider session: a later logout still finds it.
  std::string again = NewSession();
  EXPECT_EQ(BackchannelLogout("jti-2").status, 200);
  EXPECT_FALSE(Stored(again).has_value());
}

TEST_F(SessionRacesTest, IdleTouchDoesNotPutBackARefreshTokenAnotherProcessReplaced) {
  std::string id = NewSession();
  t_.clock.Advance(120);  // due for an idle touch, not for a refresh
  // Between this request's read and its touch, another process refreshes (single-use RT-1 is
  // spent, RT-2 stored).
  t_.store.Before(Op::kPutIfVersion, [&] {
    auto done = t_.sessions->Update(
        id,
        [](SessionRecord& r) {
          r.access_token = "AT-2";
          r.refresh_token = "RT-2";
        },
        t_.clock.NowSeconds());
    ASSERT_TRUE(done.ok() && *done);
  });
  ASSERT_EQ(Authn(Cookie(id)).kind, Action::Kind::kAllow);
  EXPECT_EQ(t_.store.conflicts(), 1);
  ASSERT_TRUE(Stored(id).has_value());
  EXPECT_EQ(Stored(id)->refresh_token, "RT-2") << "the touch wrote the spent refresh token back";
}

TEST_F(SessionRacesTest, RefreshResultIsKeptWhenATouchLandsFirst) {
  std::string id = NewSession();
  t_.clock.Advance(580);
  t_.http.Respond(TestSite::kTokenUrl, 200, TokenJson("AT-2", "RT-2"));
  // While the refresh is about to store its result, another request touches the session.
  t_.store.Before(Op::kPutIfVersion, [&] {
    auto loaded = t_.sessions->LoadById(id, t_.clock.NowSeconds());
    ASSERT_TRUE(loaded.ok() && loaded->has_value());
    t_.sessions->Touch(**loaded, t_.clock.NowSeconds());
  });
  ASSERT_EQ(Authn(Cookie(id)).kind, Action::Kind::kAllow);
  ASSERT_TRUE(Stored(id).has_value());
  EXPECT_EQ(Stored(id)->refresh_token, "RT-2");
  EXPECT_EQ(Stored(id)->last_seen_at, t_.clock.NowSeconds());
  EXPECT_FALSE(Revoked("RT-2"));
}

TEST_F(SessionRacesTest, LocationIdleTimeoutFiresOnTheStoredLastUse) {
  std::string id = NewSession();
  t_.clock.Advance(300);  // idle 5 minutes; the server allows an hour
  LocationOptions strict = TokenPassing();
  strict.idle_timeout_seconds = 120;
  EXPECT_NE(Authn(Cookie(id), strict).kind, Action::Kind::kAllow);
  EXPECT_EQ(Authn(Cookie(id)).kind, Action::Kind::kAllow) << "other locations keep the session";
}

TEST_F(SessionRacesTest, LocationIdleTimeoutIsMetByARecentUse) {
  std::string id = NewSession();
  t_.clock.Advance(100);
  ASSERT_EQ(Authn(Cookie(id)).kind, Action::Kind::kAllow);  // touched: last use now
  t_.clock.Advance(100);
  LocationOptions strict = TokenPassing();
  strict.idle_timeout_seconds = 120;
  EXPECT_EQ(Authn(Cookie(id), strict).kind, Action::Kind::kAllow);
}

TEST_F(SessionRacesTest, StoreFailureAfterSessionsEndedLetsTheProvidersRetryThrough) {
  std::string id = NewSession();
  // The store fails just when the jti would be remembered.
  t_.store.Before(Op::kAdd, [&] { t_.store.set_unavailable(true); });
  Action first = BackchannelLogout("jti-retry");
  EXPECT_EQ(first.status, 503);
  EXPECT_TRUE(t_.log.HasTag(186));
  t_.store.set_unavailable(false);
  EXPECT_FALSE(Stored(id).has_value()) << "sessions end before the jti is remembered";
  // The provider retries the same token: not a replay, since it was never recorded.
  EXPECT_EQ(BackchannelLogout("jti-retry").status, 200);
  EXPECT_EQ(BackchannelLogout("jti-retry").status, 400);  // now it is one
}

TEST_F(SessionRacesTest, ConcurrentSignInsOfOneUserAreAllIndexed) {
  // Two sign-ins of alice land between each other's index read and write; both stay indexed.
  std::string second;
  t_.store.Before(Op::kSetAdd, [&] { second = NewSession(); });
  std::string first = NewSession();
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(BackchannelLogout("jti-both").status, 200);
  EXPECT_FALSE(Stored(first).has_value());
  EXPECT_FALSE(Stored(second).has_value());
}

// --- Sites sharing one store --------------------------------------------------------------------

TEST_F(SessionRacesTest, SessionOfAnotherVirtualHostIsNoSessionHere) {
  std::string id = NewSession();
  SessionConfig other_host = t_.session_config;
  other_host.scope = "host:other.example";
  Sessions elsewhere(t_.store, other_host, t_.random);
  auto there = elsewhere.Load(Cookie(id), t_.clock.NowSeconds());
  ASSERT_TRUE(there.ok());
  EXPECT_FALSE(there->has_value());
  EXPECT_TRUE(Stored(id).has_value()) << "reading it elsewhere must not end it here";
}

TEST_F(SessionRacesTest, HostsThatShareAScopeShareSessions) {
  t_.session_config.scope = "scope:shop";
  std::string id = NewSession();
  SessionConfig twin = t_.session_config;  // another virtual host, same CoinpaySessionScope
  Sessions shared(t_.store, twin, t_.random);
  auto there = shared.Load(Cookie(id), t_.clock.NowSeconds());
  ASSERT_TRUE(there.ok());
  EXPECT_TRUE(there->has_value());
}

TEST_F(SessionRacesTest, SessionMadeWithAnotherClientIdIsNoSessionForThisProvider) {
  SessionRecord r = t_.NewRecord("alice");
  r.client_id = "another-client";  // same scope and provider name, another registration
  r.access_token = "AT-x";
  auto id = t_.sessions->Create(r, t_.clock.NowSeconds());
  ASSERT_TRUE(id.ok());
  EXPECT_NE(Authn(Cookie(*id)).kind, Action::Kind::kAllow);
}

TEST_F(SessionRacesTest, BackchannelLogoutOfOneClientLeavesAnotherClientsSessions) {
  SessionRecord r = t_.NewRecord("alice");
  r.client_id = "another-client";
  auto theirs = t_.sessions->Create(r, t_.clock.NowSeconds(), "sid-A");
  ASSERT_TRUE(theirs.ok());
  std::string ours = NewSession();
  EXPECT_EQ(BackchannelLogout("jti-ours").status, 200);
  EXPECT_FALSE(Stored(ours).has_value());
  auto still = t_.store.Get(Sha256(*theirs), t_.clock.NowSeconds());
  ASSERT_TRUE(still.ok());
  EXPECT_TRUE(still->has_value());
}

}  // namespace
}  // namespace coinpay
