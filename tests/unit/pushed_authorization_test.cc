// Pushed authorization requests (RFC 9126) at sign-in start: when they are used
// (CoinpayPushedAuthorization auto|on|off against discovery), what is pushed and what the
// browser still sees, and how a failure ends the sign-in (page, log tag, metric, breaker).
#include <gtest/gtest.h>

#include <map>

#include "core/encoding.h"
#include "core/login_flow.h"
#include "core/pages.h"
#include "core/pkce.h"
#include "core/provider_metadata.h"
#include "core/token_client.h"
#include "fakes.h"

namespace coinpay {
namespace {

using testing::TestSite;

constexpr char kParUrl[] = "https://op.example/par";
constexpr char kRequestUri[] = "urn:ietf:params:oauth:request_uri:abc123";

std::map<std::string, std::string> Form(const std::string& body) {
  std::map<std::string, std::string> out;
  auto params = ParseQuery(body);
  EXPECT_TRUE(params.has_value()) << body;
  for (auto& [k, v] : params.value_or(Params{})) {
    EXPECT_TRUE(out.emplace(k, v).second) << "repeated " << k;
  }
  return out;
}

std::map<std::string, std::string> QueryOf(const std::string& url) {
  size_t q = url.find('?');
  return Form(q == std::string::npos ? "" : url.substr(q + 1));
}

TEST(RouteAuthorizationRequest, FollowsTheModeAndWhatDiscoveryOffers) {
  ProviderMetadata with;
  with.pushed_authorization_request_endpoint = kParUrl;
  ProviderMetadata without;
  EXPECT_EQ(RouteAuthorizationRequest(ParMode::kAuto, with), AuthorizationRoute::kPushed);
  EXPECT_EQ(RouteAuthorizationRequest(ParMode::kAuto, without), AuthorizationRoute::kFrontChannel);
  EXPECT_EQ(RouteAuthorizationRequest(ParMode::kOn, with), AuthorizationRoute::kPushed);
  EXPECT_EQ(RouteAuthorizationRequest(ParMode::kOn, without), AuthorizationRoute::kRefused);
  EXPECT_EQ(RouteAuthorizationRequest(ParMode::kOff, with), AuthorizationRoute::kFrontChannel);
  EXPECT_EQ(RouteAuthorizationRequest(ParMode::kOff, without), AuthorizationRoute::kFrontChannel);
}

ProviderConfig OpConfig() {
  ProviderConfig c;
  c.issuer = "https://op.example";
  return c;
}

TEST(ParDiscovery, ReadsThePushedAuthorizationEndpointAndWhetherItIsRequired) {
  auto m = ParseDiscovery(
      R"({"issuer":"https://op.example","authorization_endpoint":"https://op.example/a",)"
      R"("token_endpoint":"https://op.example/t","jwks_uri":"https://op.example/j",)"
      R"("pushed_authorization_request_endpoint":"https://op.example/par",)"
      R"("require_pushed_authorization_requests":true})",
      OpConfig());
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->pushed_authorization_request_endpoint, "https://op.example/par");
  EXPECT_TRUE(m->require_pushed_authorization_requests);
}

TEST(ParDiscovery, APlainHttpPushedEndpointIsRefusedLikeAnyOther) {
  auto m = ParseDiscovery(
      R"({"issuer":"https://op.example","authorization_endpoint":"https://op.example/a",)"
      R"("token_endpoint":"https://op.example/t","jwks_uri":"https://op.example/j",)"
      R"("pushed_authorization_request_endpoint":"http://op.example/par"})",
      OpConfig());
  EXPECT_FALSE(m);
}

class ParLoginTest : public ::testing::Test {
 protected:
  explicit ParLoginTest(ParMode mode = ParMode::kAuto, bool offered = true)
      : t_([mode](ProviderConfig& p) {
          p.par = mode;
          p.resource = "https://api.paylent.example";
        }) {
    std::string doc = t_.DiscoveryJson();
    if (offered) {
      doc.insert(doc.size() - 1,
                 std::string(R"(,"pushed_authorization_request_endpoint":")") + kParUrl + "\"");
    }
    t_.http.Respond(TestSite::kDiscoveryUrl, 200, doc);
    t_.http.Respond(kParUrl, 201,
                    std::string(R"({"request_uri":")") + kRequestUri + R"(","expires_in":60})");
  }
  Action Login() {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.path = "/api/auth/login/coinpay";
    req.query = "return_to=%2Fapp";
    Site site = t_.site();
    return HandleLoginRequest(site, req);
  }
  TestSite t_;
};

TEST_F(ParLoginTest, TheBrowserCarriesOnlyClientIdAndRequestUri) {
  Action a = Login();
  ASSERT_EQ(a.status, 302);
  ASSERT_EQ(a.location.rfind(std::string(TestSite::kAuthorizeUrl) + "?", 0), 0u) << a.location;
  auto q = QueryOf(a.location);
  EXPECT_EQ(q, (std::map<std::string, std::string>{{"client_id", TestSite::kClientId},
                                                   {"request_uri", kRequestUri}}));
  ASSERT_EQ(a.set_cookies.size(), 1u);  // the login attempt is remembered as without PAR
  EXPECT_EQ(t_.Counted(Metric::kSigninStarted), 1u);
  EXPECT_TRUE(t_.log.HasTag(402));
}

TEST_F(ParLoginTest, EveryAuthorizationParameterIsPushedWithClientAuthentication) {
  Action a = Login();
  ASSERT_EQ(a.status, 302);
  auto req = t_.http.LastFor(kParUrl);
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->method, "POST");
  auto form = Form(req->body);
  EXPECT_EQ(form["response_type"], "code");
  EXPECT_EQ(form["client_id"], TestSite::kClientId);
  EXPECT_EQ(form["redirect_uri"], TestSite::kRedirectUri);
  EXPECT_EQ(form["scope"], "openid email profile");
  EXPECT_EQ(form["code_challenge_method"], "S256");
  EXPECT_EQ(form["code_challenge"].size(), 43u);
  EXPECT_EQ(form["resource"], "https://api.paylent.example");
  EXPECT_FALSE(form["state"].empty());
  EXPECT_FALSE(form["nonce"].empty());
  EXPECT_EQ(form.count("code_verifier"), 0u);
  bool basic = false;
  for (const auto& [k, v] : req->headers) {
    basic = basic || (IEquals(k, "Authorization") && v.rfind("Basic ", 0) == 0);
  }
  EXPECT_TRUE(basic) << "authenticated like the token call (client_secret_basic here)";
  // The state and PKCE verifier pushed are the ones the login cookie remembers.
  std::string nv = a.set_cookies[0].substr(0, a.set_cookies[0].find(';'));
  auto opened = t_.session_config.sealer->Open(kLoginStatePurpose, nv.substr(nv.find('=') + 1),
                                               t_.clock.NowSeconds());
  ASSERT_TRUE(opened);
  auto state = DecodeLoginState(*opened);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->state, form["state"]);
  EXPECT_EQ(state->nonce, form["nonce"]);
  EXPECT_EQ(PkceChallengeS256(state->code_verifier), form["code_challenge"]);
}

TEST_F(ParLoginTest, AnErrorAnswerEndsTheSignInWithAPageLogLineAndMetric) {
  t_.http.Respond(kParUrl, 400, R"({"error":"invalid_request","error_description":"<x>"})");
  Action a = Login();
  EXPECT_EQ(a.status, 502);
  ASSERT_TRUE(a.error_page);
  EXPECT_EQ(a.error_page->kind, ErrorKind::kProviderUnavailable);
  EXPECT_TRUE(a.location.empty());
  EXPECT_TRUE(a.set_cookies.empty()) << "no login attempt is remembered";
  EXPECT_TRUE(t_.log.HasTag(401));
  EXPECT_TRUE(t_.log.AnyContains("HTTP 400 invalid_request"));
  EXPECT_FALSE(t_.log.AnyContains("<x>"));
  EXPECT_EQ(t_.Counted(Metric::kSigninFailedPushedAuthorization), 1u);
  EXPECT_EQ(t_.Counted(Metric::kSigninStarted), 0u);
}

TEST_F(ParLoginTest, AnUnreachableEndpointEndsTheSignInTheSameWay) {
  t_.http.Fail(kParUrl);
  Action a = Login();
  EXPECT_EQ(a.status, 502);
  EXPECT_TRUE(t_.log.HasTag(401));
  EXPECT_EQ(t_.Counted(Metric::kSigninFailedPushedAuthorization), 1u);
}

TEST_F(ParLoginTest, AnAnswerWithoutRequestUriIsAFailure) {
  t_.http.Respond(kParUrl, 201, R"({"expires_in":60})");
  Action a = Login();
  EXPECT_EQ(a.status, 502);
  EXPECT_TRUE(t_.log.AnyContains("no usable request_uri"));
}

TEST_F(ParLoginTest, RepeatedOutagesOpenTheProvidersBreaker) {
  t_.http.Respond(kParUrl, 503, "");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Login().status, 502);
  }
  EXPECT_EQ(t_.http.CountFor(kParUrl), 5);
  EXPECT_EQ(Login().status, 502);
  EXPECT_EQ(t_.http.CountFor(kParUrl), 5) << "the open breaker holds the call back";
  EXPECT_TRUE(t_.log.AnyContains("circuit"));
}

TEST(ParClientAuthentication, ClientSecretPostSendsClientIdOnce) {
  TestSite t([](ProviderConfig& p) { p.token_auth = TokenEndpointAuth::kClientSecretPost; });
  t.http.Respond(kParUrl, 201, std::string(R"({"request_uri":")") + kRequestUri + "\"}");
  auto pushed = PushAuthorizationRequest(*t.provider, kParUrl,
                                         {{"client_id", TestSite::kClientId}, {"scope", "openid"}});
  ASSERT_TRUE(pushed) << pushed.error().detail;
  EXPECT_EQ(pushed->request_uri, kRequestUri);
  auto form = Form(t.http.LastFor(kParUrl)->body);  // Form() fails on a repeated name
  EXPECT_EQ(form["client_id"], TestSite::kClientId);
  EXPECT_EQ(form["client_secret"], TestSite::kClientSecret);
}

class ParOffTest : public ParLoginTest {
 protected:
  ParOffTest() : ParLoginTest(ParMode::kOff, true) {}
};

TEST_F(ParOffTest, OffSendsTheParametersThroughTheBrowserEvenWhenOffered) {
  Action a = Login();
  ASSERT_EQ(a.status, 302);
  EXPECT_EQ(t_.http.CountFor(kParUrl), 0);
  EXPECT_EQ(QueryOf(a.location).count("request_uri"), 0u);
  EXPECT_EQ(QueryOf(a.location)["response_type"], "code");
}

class ParAutoNotOfferedTest : public ParLoginTest {
 protected:
  ParAutoNotOfferedTest() : ParLoginTest(ParMode::kAuto, false) {}
};

TEST_F(ParAutoNotOfferedTest, AutoWithoutTheEndpointUsesTheFrontChannel) {
  Action a = Login();
  ASSERT_EQ(a.status, 302);
  EXPECT_EQ(t_.http.CountFor(kParUrl), 0);
  EXPECT_EQ(QueryOf(a.location)["client_id"], TestSite::kClientId);
  EXPECT_FALSE(QueryOf(a.location)["state"].empty());
}

class ParOnNotOfferedTest : public ParLoginTest {
 protected:
  ParOnNotOfferedTest() : ParLoginTest(ParMode::kOn, false) {}
};

TEST_F(ParOnNotOfferedTest, OnWithoutTheEndpointRefusesTheSignInAndSaysWhy) {
  Action a = Login();
  EXPECT_EQ(a.status, 500);
  ASSERT_TRUE(a.error_page);
  EXPECT_EQ(a.error_page->kind, ErrorKind::kMisconfigured);
  EXPECT_TRUE(a.set_cookies.empty());
  EXPECT_TRUE(t_.log.HasTag(404));
  EXPECT_TRUE(t_.log.AnyContains("pushed_authorization_request_endpoint"));
  EXPECT_EQ(t_.http.CountFor(kParUrl), 0);
}

}  // namespace
}  // namespace coinpay
