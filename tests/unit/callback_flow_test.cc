// The callback: state bound to the sealed login cookie, code exchange, ID token checks, and a
// fresh session on success. Every failure is a fixed page with the right status.
#include "core/callback_flow.h"

#include <gtest/gtest.h>

#include <map>

#include "core/cookies.h"
#include "core/encoding.h"
#include "core/login_flow.h"
#include "core/pkce.h"
#include "claims_json.h"
#include "fakes.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::TestKey;
using testing::TestSite;

std::map<std::string, std::string> QueryOf(const std::string& url) {
  std::map<std::string, std::string> out;
  size_t q = url.find('?');
  for (auto& [k, v] :
       ParseQuery(q == std::string::npos ? "" : url.substr(q + 1)).value_or(Params{})) {
    out[k] = v;
  }
  return out;
}

std::string NameValue(const std::string& set_cookie) {
  return set_cookie.substr(0, set_cookie.find(';'));
}

class CallbackFlowTest : public ::testing::Test {
 protected:
  CallbackFlowTest() {
    t_.ServeDiscovery();
    t_.ServeJwks(testing::MakeJwks({&key_}));
  }

  // Runs the login handler and remembers what the browser and the provider would hold.
  void StartLogin(std::string_view query = "return_to=%2Fapp%3Fx%3D1") {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.query = query;
    Site site = t_.site();
    Action a = HandleLoginRequest(site, req);
    ASSERT_EQ(a.status, 302);
    auto q = QueryOf(a.location);
    state_ = q["state"];
    nonce_ = q["nonce"];
    challenge_ = q["code_challenge"];
    login_cookie_ = NameValue(a.set_cookies.back());
    login_cookie_name_ = login_cookie_.substr(0, login_cookie_.find('='));
  }

  std::string Claims(const std::string& overrides = "") {
    int64_t now = t_.clock.NowSeconds();
    testing::ClaimMap c = {
        {"iss", "\"" + std::string(TestSite::kIssuer) + "\""},
        {"aud", "\"" + std::string(TestSite::kClientId) + "\""},
        {"sub", "\"user-42\""},
        {"email", "\"alice@example.com\""},
        {"nonce", "\"" + nonce_ + "\""},
        {"iat", std::to_string(now)},
        {"exp", std::to_string(now + 300)},
    };
    return testing::ClaimsJson(std::move(c), overrides);
  }

  void TokenEndpointReturns(const std::string& id_token) {
    std::string body = R"({"access_token":"AT-1","token_type":"Bearer","expires_in":600,)"
                       R"("refresh_token":"RT-1","id_token":")" +
                       id_token + "\"}";
    t_.http.Respond(TestSite::kTokenUrl, 200, body);
  }

  Action Callback(const std::string& query, const std::string& cookie) {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.path = "/api/auth/callback/coinpay";
    req.query = query;
    req.cookie = cookie;
    Site site = t_.site();
    return HandleCallback(site, req);
  }
  Action GoodCallback(const std::string& extra_cookie = "") {
    return Callback("code=the-code&state=" + state_,
                    extra_cookie.empty() ? login_cookie_ : extra_cookie + "; " + login_cookie_);
  }

  bool DeletesLoginCookie(const Action& a) {
    for (const auto& c : a.set_cookies) {
      if (c.rfind(login_cookie_name_ + "=;", 0) == 0 && c.find("Max-Age=0") != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  std::optional<std::string> SessionCookie(const Action& a) {
    for (const auto& c : a.set_cookies) {
      if (c.rfind("coinpay_session=", 0) == 0 && c.find("Max-Age=0") == std::string::npos) {
        return NameValue(c).substr(16);
      }
    }
    return std::nullopt;
  }

  TestSite t_;
  const TestKey& key_ = TestKey::Rsa("op-signing");
  std::string state_, nonce_, challenge_, login_cookie_, login_cookie_name_;
};

TEST_F(CallbackFlowTest, SuccessCreatesSessionAndRedirectsToReturnTo) {
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  Action a = GoodCallback();
  ASSERT_EQ(a.status, 302) << a.body;
  EXPECT_EQ(a.location, "/app?x=1");
  EXPECT_TRUE(DeletesLoginCookie(a));
  auto id = SessionCookie(a);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->size(), 43u);
  for (const auto& c : a.set_cookies) {
    if (c.rfind("coinpay_session=", 0) == 0) {
      EXPECT_NE(c.find("; HttpOnly"), std::string::npos);
      EXPECT_NE(c.find("; Secure"), std::string::npos);
      EXPECT_NE(c.find("; SameSite=Lax"), std::string::npos);
    }
  }
  auto loaded = t_.sessions->Load("coinpay_session=" + *id, t_.clock.NowSeconds());
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  const SessionRecord& r = (*loaded)->record;
  EXPECT_EQ(r.sub, "user-42");
  EXPECT_EQ(r.user, "user-42");
  EXPECT_EQ(r.access_token, "AT-1");
  EXPECT_EQ(r.refresh_token, "RT-1");
  EXPECT_EQ(r.access_expires_at, t_.clock.NowSeconds() + 600);
  bool has_email = false;
  for (const auto& [k, v] : r.claims) {
    EXPECT_NE(k, "nonce");
    has_email |= k == "email" && v == "alice@example.com";
  }
  EXPECT_TRUE(has_email);
}

TEST_F(CallbackFlowTest, CodeExchangeCarriesTheVerifierBehindTheChallenge) {
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  ASSERT_EQ(GoodCallback().status, 302);
  auto req = t_.http.LastFor(TestSite::kTokenUrl);
  ASSERT_TRUE(req.has_value());
  std::map<std::string, std::string> form;
  for (auto& [k, v] : ParseQuery(req->body).value_or(Params{})) {
    form[k] = v;
  }
  EXPECT_EQ(form["code"], "the-code");
  EXPECT_EQ(PkceChallengeS256(form["code_verifier"]), challenge_);
}

TEST_F(CallbackFlowTest, MissingStateIs400) {
  StartLogin();
  EXPECT_EQ(Callback("code=c", login_cookie_).status, 400);
  EXPECT_EQ(Callback("code=c&state=", login_cookie_).status, 400);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(CallbackFlowTest, StateWithoutItsCookieIs400) {
  StartLogin();
  EXPECT_EQ(Callback("code=c&state=" + state_, "").status, 400);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(CallbackFlowTest, ForgedStateCookieIs400) {
  StartLogin();
  std::string forged = login_cookie_name_ + "=" + Base64UrlEncode(std::string(80, 'x'));
  EXPECT_EQ(Callback("code=c&state=" + state_, forged).status, 400);
  // A cookie sealed with another passphrase is no better.
  CookieSealer other({"attacker passphrase"});
  LoginState s{state_, "n", "v", "/", "", t_.clock.NowSeconds(), {}};
  auto sealed =
      other.Seal(kLoginStatePurpose, EncodeLoginState(s), t_.clock.NowSeconds() + 600, t_.random);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(Callback("code=c&state=" + state_, login_cookie_name_ + "=" + *sealed).status, 400);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(CallbackFlowTest, ExpiredStateCookieIs400) {
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  t_.clock.Advance(601);
  EXPECT_EQ(GoodCallback().status, 400);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(CallbackFlowTest, StateCookieOfAnotherAttemptIs400) {
  StartLogin();
  std::string first_state = state_;
  std::string first_cookie_value = login_cookie_.substr(login_cookie_.find('=') + 1);
  StartLogin();
  // The first attempt's sealed value under the second attempt's cookie name.
  EXPECT_EQ(
      Callback("code=c&state=" + state_, login_cookie_name_ + "=" + first_cookie_value).status,
      400);
  // A state that is a prefix-twin of the real one (same cookie name, different state).
  std::string twin = state_.substr(0, 16) + std::string(state_.size() - 16, 'A');
  ASSERT_NE(twin, state_);
  EXPECT_EQ(Callback("code=c&state=" + twin, login_cookie_).status, 400);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(CallbackFlowTest, LoginCookieOfAnotherPurposeIs400) {
  StartLogin();
  LoginState s{state_, nonce_, "v", "/", "", t_.clock.NowSeconds(), {}};
  auto sealed = t_.session_config.sealer->Seal("session", EncodeLoginState(s),
                                               t_.clock.NowSeconds() + 600, t_.random);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(Callback("code=c&state=" + state_, login_cookie_name_ + "=" + *sealed).status, 400);
}

TEST_F(CallbackFlowTest, DuplicatedParametersAre400) {
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  EXPECT_EQ(Callback("code=a&code=b&state=" + state_, login_cookie_).status, 400);
  EXPECT_EQ(Callback("code=a&state=" + state_ + "&state=" + state_, login_cookie_).status, 400);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(CallbackFlowTest, MalformedQueryIs400) {
  StartLogin();
  EXPECT_EQ(Callback("code=%zz&state=" + state_, login_cookie_).status, 400);
}

TEST_F(CallbackFlowTest, AccessDeniedIs403AndClearsLoginCookie) {
  StartLogin();
  Action a = Callback("error=access_denied&state=" + state_, login_cookie_);
  EXPECT_EQ(a.status, 403);
  EXPECT_TRUE(DeletesLoginCookie(a));
  EXPECT_FALSE(SessionCookie(a).has_value());
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
  EXPECT_EQ(a.body.find("access_denied"), std::string::npos);
}

TEST_F(CallbackFlowTest, ErrorTextIsNeverEchoed) {
  StartLogin();
  Action a = Callback("error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=" + state_, login_cookie_);
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.body.find("<script>"), std::string::npos);
  EXPECT_FALSE(t_.log.AnyContains("<script>"));
}

TEST_F(CallbackFlowTest, MissingCodeIs400) {
  StartLogin();
  Action a = Callback("state=" + state_, login_cookie_);
  EXPECT_EQ(a.status, 400);
  EXPECT_TRUE(DeletesLoginCookie(a));
}

TEST_F(CallbackFlowTest, IssuerParameterOfAnotherProviderIs400) {
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  Action a = Callback("code=c&iss=https%3A%2F%2Fevil.example&state=" + state_, login_cookie_);
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
  EXPECT_EQ(Callback("code=c&iss=https%3A%2F%2Fop.example&state=" + state_, login_cookie_).status,
            302);
}

TEST_F(CallbackFlowTest, WithoutIssWhereTheProfileRequiresItIs400AndNoCodeIsSpent) {
  t_.provider_config->require_iss_response = true;  // CoinpaySecurityProfile fapi2
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  Action a = Callback("code=c&state=" + state_, login_cookie_);
  EXPECT_EQ(a.status, 400);
  EXPECT_TRUE(DeletesLoginCookie(a));
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 0);
}

TEST_F(CallbackFlowTest, WithoutIssIsAcceptedWhereNoProfileRequiresIt) {
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  EXPECT_EQ(Callback("code=c&state=" + state_, login_cookie_).status, 302);
}

TEST_F(CallbackFlowTest, InvalidGrantIs400) {
  StartLogin();
  t_.http.Respond(TestSite::kTokenUrl, 400, R"({"error":"invalid_grant"})");
  Action a = GoodCallback();
  EXPECT_EQ(a.status, 400);
  EXPECT_TRUE(DeletesLoginCookie(a));
}

TEST_F(CallbackFlowTest, TokenEndpointDownIs502) {
  StartLogin();
  t_.http.Fail(TestSite::kTokenUrl);
  Action a = GoodCallback();
  EXPECT_EQ(a.status, 502);
  EXPECT_FALSE(SessionCookie(a).has_value());
  t_.http.Respond(TestSite::kTokenUrl, 500, "oops");
  EXPECT_EQ(GoodCallback().status, 502);
}

TEST_F(CallbackFlowTest, TokenResponseWithoutIdTokenIs502) {
  StartLogin();
  t_.http.Respond(TestSite::kTokenUrl, 200, R"({"access_token":"AT","token_type":"Bearer"})");
  EXPECT_EQ(GoodCallback().status, 502);
}

TEST_F(CallbackFlowTest, IdTokenFailingAnyCheckIs401) {
  StartLogin();
  auto other = TestKey::Generate(TestKey::Kind::kRsa, "op-signing");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"wrong iss", key_.SignJwt(Claims(R"(iss="https://evil.example")"))},
      {"wrong aud", key_.SignJwt(Claims(R"(aud="another-client")"))},
      {"aud array without us", key_.SignJwt(Claims(R"(aud=["x","y"])"))},
      {"wrong nonce", key_.SignJwt(Claims(R"(nonce="not-the-nonce")"))},
      {"no nonce", key_.SignJwt(Claims("nonce=-"))},
      {"expired", key_.SignJwt(Claims("exp=" + std::to_string(t_.clock.NowSeconds() - 61)))},
      {"no exp", key_.SignJwt(Claims("exp=-"))},
      {"no iat", key_.SignJwt(Claims("iat=-"))},
      {"iat in future", key_.SignJwt(Claims("iat=" + std::to_string(t_.clock.NowSeconds() + 600)))},
      {"no sub", key_.SignJwt(Claims("sub=-"))},
      {"azp of another", key_.SignJwt(Claims(R"(azp="another-client")"))},
      {"bad signature", testing::TamperSignature(key_.SignJwt(Claims()))},
      {"other key same kid", other->SignJwt(Claims())},
      {"unknown kid", other->SignJwtWithKid(Claims(), "who")},
      {"alg none", testing::ForgeAlgNone(Claims(), "op-signing")},
      {"hs256 with public key", testing::ForgeHs256(Claims(), key_.PublicPem(), "op-signing")},
      {"not a jwt", "garbage"},
  };
  for (const auto& [what, token] : cases) {
    TokenEndpointReturns(token);
    Action a = GoodCallback();
    EXPECT_EQ(a.status, 401) << what;
    EXPECT_FALSE(SessionCookie(a).has_value()) << what;
    EXPECT_TRUE(DeletesLoginCookie(a)) << what;
  }
  EXPECT_EQ(t_.store.size(), 0u);
}

TEST_F(CallbackFlowTest, ExistingSessionCookieIsNotReused) {
  SessionRecord old;
  old.sub = "someone-else";
  auto old_id = t_.sessions->Create(old, t_.clock.NowSeconds());
  ASSERT_TRUE(old_id.ok());
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  Action a = GoodCallback("coinpay_session=" + *old_id);
  ASSERT_EQ(a.status, 302);
  auto id = SessionCookie(a);
  ASSERT_TRUE(id.has_value());
  EXPECT_NE(*id, *old_id);
  auto stale = t_.sessions->Load("coinpay_session=" + *old_id, t_.clock.NowSeconds());
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->has_value());
  auto fresh = t_.sessions->Load("coinpay_session=" + *id, t_.clock.NowSeconds());
  ASSERT_TRUE(fresh.ok() && fresh->has_value());
  EXPECT_EQ((*fresh)->record.sub, "user-42");
}

TEST_F(CallbackFlowTest, StoreOutageIs503WithoutSessionCookie) {
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  t_.store.set_unavailable(true);
  Action a = GoodCallback();
  EXPECT_EQ(a.status, 503);
  EXPECT_FALSE(SessionCookie(a).has_value());
}

TEST_F(CallbackFlowTest, NoTokenOrSecretIsLogged) {
  StartLogin();
  std::string id_token = key_.SignJwt(Claims());
  TokenEndpointReturns(id_token);
  ASSERT_EQ(GoodCallback().status, 302);
  t_.http.Respond(TestSite::kTokenUrl, 400, R"({"error":"invalid_grant"})");
  StartLogin();
  GoodCallback();
  EXPECT_FALSE(t_.log.AnyContains(id_token));
  EXPECT_FALSE(t_.log.AnyContains("AT-1"));
  EXPECT_FALSE(t_.log.AnyContains("RT-1"));
  EXPECT_FALSE(t_.log.AnyContains(TestSite::kClientSecret));
  EXPECT_FALSE(t_.log.AnyContains("the-code"));
  EXPECT_FALSE(t_.log.AnyContains(state_));
}

// Userinfo (OpenID Connect Core 5.3): its claims join the ID token's; another sub refuses.
class UserinfoCallbackTest : public CallbackFlowTest {
 protected:
  static constexpr char kUserinfoUrl[] = "https://op.example/userinfo";
  void ServeDiscoveryWithUserinfo() {
    std::string d = t_.DiscoveryJson();
    d.insert(d.size() - 1, std::string(R"(,"userinfo_endpoint":")") + kUserinfoUrl + "\"");
    t_.http.Respond(TestSite::kDiscoveryUrl, 200, d);
  }
};

TEST_F(UserinfoCallbackTest, UserinfoClaimsReachTheSession) {
  ServeDiscoveryWithUserinfo();
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  t_.http.Respond(kUserinfoUrl, 200, R"({"sub":"user-42","wallet_address":"0xabc"})");
  Action a = GoodCallback();
  ASSERT_EQ(a.status, 302) << a.body;
  auto loaded = t_.sessions->Load("coinpay_session=" + *SessionCookie(a), t_.clock.NowSeconds());
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  bool wallet = false;
  for (const auto& [k, v] : (*loaded)->record.claims) {
    wallet |= k == "wallet_address" && v == "0xabc";
  }
  EXPECT_TRUE(wallet);
}

TEST_F(UserinfoCallbackTest, UserinfoNamingAnotherSubFailsTheLogin) {
  ServeDiscoveryWithUserinfo();
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  t_.http.Respond(kUserinfoUrl, 200, R"({"sub":"someone-else","email":"x@example.com"})");
  Action a = GoodCallback();
  EXPECT_EQ(a.status, 401);
  EXPECT_FALSE(SessionCookie(a).has_value());
}

TEST_F(UserinfoCallbackTest, UnreachableUserinfoKeepsTheIdTokenClaimsInAutoMode) {
  ServeDiscoveryWithUserinfo();
  StartLogin();
  TokenEndpointReturns(key_.SignJwt(Claims()));
  t_.http.Respond(kUserinfoUrl, 500, "oops");
  Action a = GoodCallback();
  EXPECT_EQ(a.status, 302) << a.body;
  EXPECT_TRUE(SessionCookie(a).has_value());
}

}  // namespace
}  // namespace coinpay
