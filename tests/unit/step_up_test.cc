// Step-up authentication: the rules (core/step_up.h), then the browser side end to end over the
// fakes (a weak or old session is sent back to its provider; the callback checks the answer and
// never loops) and the bearer side (RFC 9470 challenges). Time is a FakeClock throughout.
#include "core/step_up.h"

#include <gtest/gtest.h>

#include <map>

#include "claims_json.h"
#include "core/bearer_authn.h"
#include "core/callback_flow.h"
#include "core/cookies.h"
#include "core/directive_kinds.h"
#include "core/login_flow.h"
#include "core/pages.h"
#include "core/session_authn.h"
#include "fakes.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::TestKey;
using testing::TestSite;

constexpr char kBasic[] = "urn:coinpay:acr:basic";
constexpr char kStrong[] = "urn:coinpay:acr:strong";

StepUpPolicy StrongOnly() {
  StepUpPolicy p;
  p.acr_values = {kStrong};
  return p;
}

StepUpPolicy MaxAge(int64_t seconds) {
  StepUpPolicy p;
  p.max_auth_age = seconds;
  return p;
}

std::map<std::string, std::string> QueryOf(const std::string& url) {
  std::map<std::string, std::string> out;
  size_t q = url.find('?');
  for (auto& [k, v] :
       ParseQuery(q == std::string::npos ? "" : url.substr(q + 1)).value_or(Params{})) {
    out[k] = v;
  }
  return out;
}

std::string HeaderOf(const Action& a, std::string_view name) {
  for (const auto& [k, v] : a.headers) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

// ---- the rules ---------------------------------------------------------------------------

TEST(StepUpRules, LocationWithoutDemandsAcceptsAnySignIn) {
  StepUpPolicy none;
  EXPECT_FALSE(none.Active());
  EXPECT_FALSE(ShortfallOf(none, "", 0, 1000).Any());
}

TEST(StepUpRules, SignInWithOneOfTheAcrValuesIsEnough) {
  StepUpPolicy p;
  p.acr_values = {kStrong, "urn:coinpay:acr:key"};
  EXPECT_FALSE(ShortfallOf(p, kStrong, 0, 1000).Any());
  EXPECT_FALSE(ShortfallOf(p, "urn:coinpay:acr:key", 0, 1000).Any());
}

TEST(StepUpRules, WeakerOrMissingAcrFallsShort) {
  EXPECT_TRUE(ShortfallOf(StrongOnly(), kBasic, 900, 1000).acr);
  EXPECT_TRUE(ShortfallOf(StrongOnly(), "", 900, 1000).acr);
  EXPECT_FALSE(ShortfallOf(StrongOnly(), kBasic, 900, 1000).age);
}

TEST(StepUpRules, AuthenticationOlderThanMaxAgeFallsShort) {
  EXPECT_FALSE(ShortfallOf(MaxAge(300), "", 1000, 1300).Any()) << "exactly max age still counts";
  EXPECT_TRUE(ShortfallOf(MaxAge(300), "", 1000, 1301).age);
  EXPECT_FALSE(ShortfallOf(MaxAge(300), "", 1000, 1300).acr);
}

TEST(StepUpRules, UnknownAuthenticationTimeIsNeverRecentEnough) {
  EXPECT_TRUE(ShortfallOf(MaxAge(300), "", 0, 1000).age);
  EXPECT_TRUE(ShortfallOf(MaxAge(100000000), "", 0, 5).age);
}

TEST(StepUpRules, RequestAsksForTheLocationsAcrAndMaxAge) {
  StepUpPolicy p;
  p.acr_values = {kStrong, "urn:coinpay:acr:key"};
  p.max_auth_age = 300;
  StepUpRequest first = StepUpRequestFor(p, false);
  EXPECT_EQ(first.acr_values, "urn:coinpay:acr:strong urn:coinpay:acr:key");
  EXPECT_EQ(first.max_age, 300);
  EXPECT_TRUE(first.prompt_login) << "acr_values alone is only a wish to many providers";
  EXPECT_TRUE(StepUpRequestFor(p, true).prompt_login);
  EXPECT_FALSE(StepUpRequestFor(MaxAge(300), false).prompt_login)
      << "max_age alone makes the provider re-authenticate";
  EXPECT_TRUE(StepUpRequestFor(MaxAge(300), true).prompt_login);
  EXPECT_EQ(StepUpRequestFor(StrongOnly(), true).max_age, -1);
  EXPECT_TRUE(StepUpRequestFor(StepUpPolicy{}, true).Empty());
}

TEST(StepUpRules, ParamsReplaceTheOperatorsOwnOfTheSameName) {
  Params params = {{"scope", "openid"}, {"acr_values", "x"}, {"prompt", "consent"}};
  StepUpRequest r;
  r.acr_values = kStrong;
  r.max_age = 0;
  r.prompt_login = true;
  AddStepUpParams(r, params);
  std::map<std::string, int> seen;
  std::map<std::string, std::string> value;
  for (const auto& [k, v] : params) {
    ++seen[k];
    value[k] = v;
  }
  EXPECT_EQ(seen["acr_values"], 1);
  EXPECT_EQ(seen["prompt"], 1);
  EXPECT_EQ(value["acr_values"], kStrong);
  EXPECT_EQ(value["max_age"], "0");
  EXPECT_EQ(value["prompt"], "login");
  EXPECT_EQ(value["scope"], "openid");
}

TEST(StepUpRules, ProvenByRefusesWronglyTypedClaims) {
  EXPECT_FALSE(ProvenBy(*Json::Parse(R"({"acr":1})")).ok());
  EXPECT_FALSE(ProvenBy(*Json::Parse(R"({"auth_time":"yesterday"})")).ok());
  auto p = ProvenBy(*Json::Parse(R"({"acr":"a","auth_time":5,"iat":9})"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->acr, "a");
  EXPECT_EQ(*p->auth_time, 5);
  EXPECT_EQ(*p->iat, 9);
}

ProvenAuthentication Proven(std::string acr, std::optional<int64_t> auth_time,
                            std::optional<int64_t> iat) {
  ProvenAuthentication p;
  p.acr = std::move(acr);
  p.auth_time = auth_time;
  p.iat = iat;
  return p;
}

TEST(StepUpRules, AnswerMustCarryARequestedAcr) {
  StepUpRequest asked;
  asked.acr_values = std::string(kStrong) + " urn:coinpay:acr:key";
  EXPECT_TRUE(CheckStepUpAnswer(asked, Proven(kStrong, std::nullopt, 10)).ok());
  Status weak = CheckStepUpAnswer(asked, Proven(kBasic, std::nullopt, 10));
  EXPECT_EQ(weak.code(), Errc::kMissingClaim);
  EXPECT_NE(weak.error().detail.find(kBasic), std::string::npos);
  EXPECT_EQ(CheckStepUpAnswer(asked, Proven("", 5, 10)).code(), Errc::kMissingClaim);
  EXPECT_EQ(CheckStepUpAnswer(asked, Proven("urn:coinpay:acr:strong ", 5, 10)).code(),
            Errc::kMissingClaim);
}

TEST(StepUpRules, AnswerToMaxAgeMustCarryARecentEnoughAuthTime) {
  StepUpRequest asked;
  asked.max_age = 60;
  EXPECT_TRUE(CheckStepUpAnswer(asked, Proven("", 1000, 1060)).ok());
  EXPECT_EQ(CheckStepUpAnswer(asked, Proven("", 1000, 1061)).code(), Errc::kExpired);
  EXPECT_EQ(CheckStepUpAnswer(asked, Proven("", std::nullopt, 1000)).code(), Errc::kMissingClaim);
  EXPECT_TRUE(CheckStepUpAnswer(StepUpRequest{}, Proven("", std::nullopt, std::nullopt)).ok());
}

TEST(StepUpRules, AuthenticatedAtIgnoresTheProvidersClockDifference) {
  // The provider's clock runs an hour ahead; the user authenticated 20 s before the token.
  EXPECT_EQ(AuthenticatedAt(Proven("", 5000 + 3600 - 20, 5000 + 3600), 5000), 4980);
  EXPECT_EQ(AuthenticatedAt(Proven("", std::nullopt, 5000), 5000), 0);
  EXPECT_EQ(AuthenticatedAt(Proven("", 6000, 5000), 5000), 5000) << "auth_time after iat";
  EXPECT_GT(AuthenticatedAt(Proven("", INT64_MIN, INT64_MAX), 5000), 0) << "never 'unknown'";
}

TEST(StepUpRules, AcrRuleParsesValuesAndRefusesWhatCannotBeEchoed) {
  auto rule = AcrRule::Parse(" urn:coinpay:acr:strong  urn:coinpay:acr:key ");
  ASSERT_TRUE(rule.ok());
  EXPECT_EQ(rule->values().size(), 2u);
  EXPECT_TRUE(rule->SatisfiedBy(*Json::Parse(R"({"acr":"urn:coinpay:acr:key"})")));
  EXPECT_FALSE(rule->SatisfiedBy(*Json::Parse(R"({"acr":"urn:coinpay:acr:basic"})")));
  EXPECT_FALSE(rule->SatisfiedBy(*Json::Parse(R"({"acr":["urn:coinpay:acr:key"]})")));
  EXPECT_FALSE(rule->SatisfiedBy(*Json::Parse(R"({})")));
  auto none = AcrRule::Parse("  ");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().detail.find("CPA00981"), std::string::npos);
  for (const char* bad : {"a\"b", "a\\b", "a,b"}) {
    auto r = AcrRule::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().detail.find("CPA00982"), std::string::npos);
  }
}

TEST(StepUpRules, AuthnContextDirectiveRefusesValuesThatCannotBeEchoed) {
  std::vector<std::string> out;
  EXPECT_EQ(kinds::AcrValues::Append(kStrong, out), nullptr);
  const char* err = kinds::AcrValues::Append("urn:\"x\"", out);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err).find("CPA00980"), std::string::npos);
  EXPECT_EQ(out, std::vector<std::string>{kStrong});
  EXPECT_EQ(kinds::AcrValues::Parse("", out), nullptr);
  EXPECT_TRUE(out.empty());
}

// ---- bearer tokens (RFC 9470) ---------------------------------------------------------

std::map<std::string, std::string> ChallengeParams(const Action& a) {
  std::map<std::string, std::string> out;
  std::string h = HeaderOf(a, "WWW-Authenticate");
  size_t pos = 0;
  while ((pos = h.find("=\"", pos)) != std::string::npos) {
    size_t start = h.rfind(' ', pos) + 1;
    size_t end = h.find('"', pos + 2);
    out[h.substr(start, pos - start)] = h.substr(pos + 2, end - pos - 2);
    pos = end + 1;
  }
  return out;
}

TEST(BearerStepUp, TokenThatSatisfiesTheLocationPasses) {
  BearerConfig config;
  auto rule = AcrRule::Parse(kStrong);
  Json claims = *Json::Parse(R"({"acr":"urn:coinpay:acr:strong","auth_time":1000})");
  EXPECT_FALSE(BearerStepUpChallenge(config, &*rule, 300, claims, 1300, 0).has_value());
  EXPECT_FALSE(BearerStepUpChallenge(config, nullptr, 0, claims, 99999, 0).has_value());
}

TEST(BearerStepUp, WeakTokenGets401WithTheAcrValuesItNeeds) {
  BearerConfig config;
  auto rule = AcrRule::Parse("urn:coinpay:acr:strong urn:coinpay:acr:key");
  Json claims = *Json::Parse(R"({"acr":"urn:coinpay:acr:basic","auth_time":1000})");
  auto a = BearerStepUpChallenge(config, &*rule, 0, claims, 1001, 0);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 401);
  std::string header = HeaderOf(*a, "WWW-Authenticate");
  EXPECT_EQ(header.rfind("Bearer realm=\"api\"", 0), 0u) << header;
  auto c = ChallengeParams(*a);
  EXPECT_EQ(c["error"], "insufficient_user_authentication");
  EXPECT_EQ(c["error_description"], "A different authentication level is required");
  EXPECT_EQ(c["acr_values"], "urn:coinpay:acr:strong urn:coinpay:acr:key");
  EXPECT_EQ(c.count("max_age"), 0u);
  EXPECT_EQ(HeaderOf(*a, "Cache-Control"), "no-store");
}

TEST(BearerStepUp, ADPoPRequestGetsTheStepUpChallengeInTheDPoPScheme) {
  BearerConfig config;
  auto rule = AcrRule::Parse(kStrong);
  Json claims = *Json::Parse(R"({"acr":"urn:coinpay:acr:basic","auth_time":1000})");
  auto a = BearerStepUpChallenge(config, &*rule, 0, claims, 1001, 0, DPoPMode::kRequired,
                                 /*used_dpop=*/true);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 401);
  int challenges = 0;
  for (const auto& [name, value] : a->headers) {
    if (name != "WWW-Authenticate") {
      continue;
    }
    ++challenges;
    EXPECT_EQ(value.rfind("DPoP realm=\"api\"", 0), 0u) << value;
    EXPECT_NE(value.find("error=\"insufficient_user_authentication\""), std::string::npos);
    EXPECT_NE(value.find("acr_values=\"urn:coinpay:acr:strong\""), std::string::npos) << value;
  }
  EXPECT_EQ(challenges, 1) << "required: no Bearer challenge";
}

TEST(BearerStepUp, OldOrUndatedTokenGets401WithMaxAge) {
  BearerConfig config;
  Json old = *Json::Parse(R"({"acr":"x","auth_time":1000})");
  EXPECT_FALSE(BearerStepUpChallenge(config, nullptr, 300, old, 1310, 10).has_value())
      << "within the clock skew allowed";
  auto a = BearerStepUpChallenge(config, nullptr, 300, old, 1311, 10);
  ASSERT_TRUE(a.has_value());
  auto c = ChallengeParams(*a);
  EXPECT_EQ(c["error"], "insufficient_user_authentication");
  EXPECT_EQ(c["error_description"], "More recent authentication is required");
  EXPECT_EQ(c["max_age"], "300");
  EXPECT_EQ(c.count("acr_values"), 0u);
  Json undated = *Json::Parse(R"({"acr":"x"})");
  EXPECT_TRUE(BearerStepUpChallenge(config, nullptr, 300, undated, 1000, 10).has_value());
}

TEST(BearerStepUp, ChallengeNamesEverythingANewTokenNeeds) {
  BearerConfig config;
  auto rule = AcrRule::Parse(kStrong);
  // The acr is fine, the age is not: the new token must still be strong.
  Json claims = *Json::Parse(R"({"acr":"urn:coinpay:acr:strong","auth_time":1})");
  auto a = BearerStepUpChallenge(config, &*rule, 60, claims, 1000, 0);
  ASSERT_TRUE(a.has_value());
  auto c = ChallengeParams(*a);
  EXPECT_EQ(c["acr_values"], kStrong);
  EXPECT_EQ(c["max_age"], "60");
}

// ---- the session record ------------------------------------------------------------------

TEST(StepUpSessionRecord, AcrAndAuthTimeRoundTrip) {
  SessionRecord r;
  r.sub = "u";
  r.claims_json = R"({"sub":"u"})";
  r.acr = kStrong;
  r.auth_time = 1234;
  for (SessionParts parts : {SessionParts::kAll, SessionParts::kWithoutTokens}) {
    auto back = DecodeSession(EncodeSession(r), parts);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->acr, kStrong);
    EXPECT_EQ(back->auth_time, 1234);
  }
}

TEST(StepUpSessionRecord, RecordsFromBeforeStepUpStillOpenWithUnknownAuthentication) {
  SessionRecord r;
  r.sub = "u";
  r.claims_json = R"({"sub":"u-before"})";
  r.refresh_token = "rt";
  std::string bytes = EncodeSession(r);
  // A version 2 record: the same without acr (4-byte length) and auth_time (8 bytes).
  size_t after_claims = bytes.find("u-before\"}") + 10;
  std::string v2 = bytes.substr(0, after_claims) + bytes.substr(after_claims + 12);
  v2[0] = '\x02';
  auto back = DecodeSession(v2);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->refresh_token, "rt");
  EXPECT_EQ(back->acr, "");
  EXPECT_EQ(back->auth_time, 0);
}

// ---- the browser side, over the fakes -------------------------------------------------------

class StepUpFlowTest : public ::testing::Test {
 protected:
  StepUpFlowTest() {
    t_.ServeDiscovery();
    t_.ServeJwks(testing::MakeJwks({&key_}));
  }

  std::string NewSession(const std::string& acr, int64_t auth_time) {
    SessionRecord r = t_.NewRecord("user-42");
    r.claims_json = R"({"sub":"user-42"})";
    r.acr = acr;
    r.auth_time = auth_time;
    auto id = t_.sessions->Create(r, t_.clock.NowSeconds());
    EXPECT_TRUE(id.ok());
    return "coinpay_session=" + (id.ok() ? *id : std::string());
  }
  RequestView Browser(const std::string& cookie, std::string_view method = "GET") {
    cookie_ = cookie;
    RequestView req;
    req.method = method;
    req.https = true;
    req.path = "/vault/page";
    req.query = "a=1";
    req.unparsed_uri = "/vault/page?a=1";
    req.cookie = cookie_;
    req.accept = "text/html";
    req.sec_fetch_mode = "navigate";
    return req;
  }
  Action Authn(const RequestView& req, const StepUpPolicy& policy) {
    LocationOptions o;
    o.step_up = policy;
    Site site = t_.site();
    return AuthenticateSession(site, req, o);
  }
  // The login state the redirect's cookie carries.
  LoginState StateOf(const Action& a) {
    std::string c = a.set_cookies.back();
    std::string value = c.substr(c.find('=') + 1, c.find(';') - c.find('=') - 1);
    auto opened = t_.session_config.sealer->Open(kLoginStatePurpose, value, t_.clock.NowSeconds());
    EXPECT_TRUE(opened.ok());
    return DecodeLoginState(opened.ok() ? *opened : "").value_or(LoginState{});
  }

  // Completes a sign-in that `redirect` started, the provider's ID token carrying `extra`
  // claims ("name=json;..."); returns the callback's answer. `old_cookie`: the browser's
  // session cookie, sent along.
  Action FinishSignIn(const Action& redirect, const std::string& extra,
                      const std::string& old_cookie = "") {
    auto q = QueryOf(redirect.location);
    int64_t now = t_.clock.NowSeconds();
    std::string claims =
        testing::ClaimsJson({{"iss", "\"" + std::string(TestSite::kIssuer) + "\""},
                             {"aud", "\"" + std::string(TestSite::kClientId) + "\""},
                             {"sub", "\"user-42\""},
                             {"nonce", "\"" + q["nonce"] + "\""},
                             {"iat", std::to_string(now)},
                             {"exp", std::to_string(now + 300)}},
                            extra);
    t_.http.Respond(TestSite::kTokenUrl, 200,
                    R"({"access_token":"AT","token_type":"Bearer","expires_in":600,"id_token":")" +
                        key_.SignJwt(claims) + "\"}");
    std::string c = redirect.set_cookies.back();
    callback_cookie_ = c.substr(0, c.find(';'));
    if (!old_cookie.empty()) {
      callback_cookie_ = old_cookie + "; " + callback_cookie_;
    }
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.path = "/api/auth/callback/coinpay";
    callback_query_ = "code=c&state=" + q["state"];
    req.query = callback_query_;
    req.cookie = callback_cookie_;
    Site site = t_.site();
    return HandleCallback(site, req);
  }
  std::string NewSessionCookie(const Action& callback) {
    for (const auto& c : callback.set_cookies) {
      if (c.rfind("coinpay_session=", 0) == 0 && c.find("Max-Age=0") == std::string::npos) {
        return c.substr(0, c.find(';'));
      }
    }
    return "";
  }
  SessionRecord RecordOf(const std::string& cookie) {
    auto loaded = t_.sessions->Load(cookie, t_.clock.NowSeconds());
    EXPECT_TRUE(loaded.ok() && loaded->has_value());
    return loaded.ok() && loaded->has_value() ? (*loaded)->record : SessionRecord{};
  }

  TestSite t_;
  const TestKey& key_ = TestKey::Rsa("op-signing");
  std::string cookie_, callback_cookie_, callback_query_;
};

TEST_F(StepUpFlowTest, LocationWithoutStepUpAcceptsAWeakSession) {
  std::string cookie = NewSession(kBasic, 0);
  EXPECT_EQ(Authn(Browser(cookie), StepUpPolicy{}).kind, Action::Kind::kAllow);
}

TEST_F(StepUpFlowTest, StrongSessionPasses) {
  std::string cookie = NewSession(kStrong, t_.clock.NowSeconds());
  EXPECT_EQ(Authn(Browser(cookie), StrongOnly()).kind, Action::Kind::kAllow);
}

TEST_F(StepUpFlowTest, WeakSessionIsSentBackToItsProviderAskingForTheAcr) {
  std::string cookie = NewSession(kBasic, t_.clock.NowSeconds());
  Action a = Authn(Browser(cookie), StrongOnly());
  ASSERT_EQ(a.status, 302) << a.body;
  EXPECT_EQ(a.location.rfind(std::string(TestSite::kAuthorizeUrl) + "?", 0), 0u);
  auto q = QueryOf(a.location);
  EXPECT_EQ(q["acr_values"], kStrong);
  EXPECT_EQ(q["prompt"], "login");
  EXPECT_EQ(q.count("max_age"), 0u);
  LoginState s = StateOf(a);
  EXPECT_EQ(s.return_to, "/vault/page?a=1");
  EXPECT_EQ(s.step_up.acr_values, kStrong);
  EXPECT_TRUE(t_.log.HasTag(440));
  // The weak session stays: other locations still accept it.
  EXPECT_EQ(Authn(Browser(cookie), StepUpPolicy{}).kind, Action::Kind::kAllow);
}

TEST_F(StepUpFlowTest, FirstSignInAtAStepUpLocationAsksForWhatItNeeds) {
  Action a = Authn(Browser(""), StrongOnly());
  ASSERT_EQ(a.status, 302);
  auto q = QueryOf(a.location);
  EXPECT_EQ(q["acr_values"], kStrong);
  EXPECT_EQ(q["prompt"], "login");
  EXPECT_EQ(StateOf(a).step_up.acr_values, kStrong);
  Action fresh = Authn(Browser(""), MaxAge(60));
  ASSERT_EQ(fresh.status, 302);
  EXPECT_EQ(QueryOf(fresh.location)["max_age"], "60");
  EXPECT_EQ(QueryOf(fresh.location).count("prompt"), 0u) << "max_age alone needs no prompt";
}

TEST_F(StepUpFlowTest, OldSessionIsSentBackWithMaxAgeOnceTheClockPassesIt) {
  std::string cookie = NewSession("", t_.clock.NowSeconds());
  t_.clock.Advance(300);
  EXPECT_EQ(Authn(Browser(cookie), MaxAge(300)).kind, Action::Kind::kAllow);
  t_.clock.Advance(1);
  Action a = Authn(Browser(cookie), MaxAge(300));
  ASSERT_EQ(a.status, 302);
  auto q = QueryOf(a.location);
  EXPECT_EQ(q["max_age"], "300");
  EXPECT_EQ(q["prompt"], "login");
  EXPECT_EQ(q.count("acr_values"), 0u);
  EXPECT_EQ(StateOf(a).step_up.max_age, 300);
}

TEST_F(StepUpFlowTest, SessionWithoutAuthTimeIsSentBackAtAMaxAgeLocation) {
  std::string cookie = NewSession(kStrong, 0);
  EXPECT_EQ(Authn(Browser(cookie), MaxAge(3600)).status, 302);
}

TEST_F(StepUpFlowTest, NonNavigationRequestsGet401AndKeepTheirBody) {
  std::string cookie = NewSession(kBasic, t_.clock.NowSeconds());
  Action a = Authn(Browser(cookie, "POST"), StrongOnly());
  EXPECT_EQ(a.status, 401);
  EXPECT_TRUE(a.location.empty());
  EXPECT_FALSE(HeaderOf(a, "WWW-Authenticate").empty());
  EXPECT_TRUE(t_.log.HasTag(442));
  EXPECT_EQ(t_.http.CountFor(TestSite::kDiscoveryUrl), 0) << "no sign-in was started";
}

TEST_F(StepUpFlowTest, StrongAnswerReplacesTheSessionWithANewOne) {
  std::string weak = NewSession(kBasic, t_.clock.NowSeconds());
  Action redirect = Authn(Browser(weak), StrongOnly());
  ASSERT_EQ(redirect.status, 302);
  t_.clock.Advance(5);
  int64_t at_provider = t_.clock.NowSeconds() - 2;  // the user signed in 2 s before the token
  Action cb = FinishSignIn(
      redirect, "acr=\"" + std::string(kStrong) + "\";auth_time=" + std::to_string(at_provider),
      weak);
  ASSERT_EQ(cb.status, 302) << cb.body;
  EXPECT_EQ(cb.location, "/vault/page?a=1");
  std::string strong = NewSessionCookie(cb);
  ASSERT_FALSE(strong.empty());
  EXPECT_NE(strong, weak);
  SessionRecord r = RecordOf(strong);
  EXPECT_EQ(r.acr, kStrong);
  EXPECT_EQ(r.auth_time, at_provider);
  EXPECT_EQ(Authn(Browser(strong), StrongOnly()).kind, Action::Kind::kAllow);
  EXPECT_EQ(Authn(Browser(strong), StepUpPolicy{}).kind, Action::Kind::kAllow);
  auto old = t_.sessions->Load(weak, t_.clock.NowSeconds());
  EXPECT_TRUE(old.ok() && !old->has_value()) << "a new id at every sign-in";
}

TEST_F(StepUpFlowTest, WeakAnswerStopsWithAPageNotAnotherRedirect) {
  std::string weak = NewSession(kBasic, t_.clock.NowSeconds());
  Action redirect = Authn(Browser(weak), StrongOnly());
  Action cb = FinishSignIn(redirect, "acr=\"" + std::string(kBasic) + "\"", weak);
  EXPECT_EQ(cb.status, 401);
  EXPECT_TRUE(cb.location.empty());
  EXPECT_TRUE(NewSessionCookie(cb).empty());
  ASSERT_TRUE(cb.error_page);
  EXPECT_EQ(cb.error_page->kind, ErrorKind::kLoginUnverified);
  EXPECT_EQ(cb.body.find(kBasic), std::string::npos) << "nothing from the provider is echoed";
  EXPECT_TRUE(t_.log.HasTag(441));
  // The old session is untouched and still serves the locations that accept it.
  EXPECT_EQ(RecordOf(weak).acr, kBasic);
  EXPECT_EQ(Authn(Browser(weak), StepUpPolicy{}).kind, Action::Kind::kAllow);
}

TEST_F(StepUpFlowTest, AnswerWithoutAcrIsRefused) {
  Action redirect = Authn(Browser(""), StrongOnly());
  EXPECT_EQ(FinishSignIn(redirect, "").status, 401);
}

TEST_F(StepUpFlowTest, AnswerToMaxAgeWithoutAuthTimeOrTooOldIsRefused) {
  std::string cookie = NewSession("", 0);
  Action redirect = Authn(Browser(cookie), MaxAge(60));
  EXPECT_EQ(FinishSignIn(redirect, "", cookie).status, 401);
  int64_t now = t_.clock.NowSeconds();
  redirect = Authn(Browser(cookie), MaxAge(60));
  EXPECT_EQ(FinishSignIn(redirect, "auth_time=" + std::to_string(now - 61), cookie).status, 401);
  redirect = Authn(Browser(cookie), MaxAge(60));
  Action ok = FinishSignIn(redirect, "auth_time=" + std::to_string(now - 60), cookie);
  EXPECT_EQ(ok.status, 302) << ok.body;
}

TEST_F(StepUpFlowTest, TheCallbackChecksWhatTheAttemptAskedNotTheLocation) {
  // A sign-in started at a plain location asks for nothing, so nothing is checked: the session
  // just remembers the acr it got, and a step-up location judges it later.
  LocationOptions plain;
  Site site = t_.site();
  Action redirect = AuthenticateSession(site, Browser(""), plain);
  Action cb = FinishSignIn(redirect, "acr=\"" + std::string(kBasic) + "\"");
  ASSERT_EQ(cb.status, 302);
  SessionRecord r = RecordOf(NewSessionCookie(cb));
  EXPECT_EQ(r.acr, kBasic);
  EXPECT_EQ(r.auth_time, 0) << "no auth_time: unknown, never recent enough";
  EXPECT_EQ(Authn(Browser(NewSessionCookie(cb)), StrongOnly()).status, 302);
}

TEST_F(StepUpFlowTest, ChooserAtAStepUpLocationAsksTheChosenProvider) {
  LocationOptions o;
  o.step_up = StrongOnly();
  o.providers = {"", "other"};
  Site site = t_.site();
  RequestView req = Browser("");
  req.query = "coinpay_login=default";
  Action a = AuthenticateSession(site, req, o);
  ASSERT_EQ(a.status, 302) << a.body;
  EXPECT_EQ(QueryOf(a.location)["acr_values"], kStrong);
}

}  // namespace
}  // namespace coinpay
