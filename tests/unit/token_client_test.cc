// Token and revocation requests: client authentication as configured (RFC 6749 2.3.1), the
// form bodies, error mapping, and no secret or token in any Error detail.
#include "core/token_client.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>

#include "core/encoding.h"
#include "fakes.h"

namespace coinpay {
namespace {

using testing::TestSite;

constexpr char kOddId[] = "client 1:x";
constexpr char kOddSecret[] = "p@ss w:rd/+%&=9";

std::string Header(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (IEquals(k, name)) {
      return v;
    }
  }
  return "";
}

std::string StdBase64Decode(const std::string& b64) {
  std::string out(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) {
    return "";
  }
  size_t pad = 0;
  for (auto it = b64.rbegin(); it != b64.rend() && *it == '='; ++it) {
    ++pad;
  }
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::map<std::string, std::string> Form(const std::string& body) {
  std::map<std::string, std::string> out;
  auto params = ParseQuery(body);
  EXPECT_TRUE(params.has_value()) << body;
  for (auto& [k, v] : params.value_or(Params{})) {
    EXPECT_TRUE(out.emplace(k, v).second) << "repeated " << k;
  }
  return out;
}

constexpr char kTokenJson[] =
    R"({"access_token":"AT-1","token_type":"Bearer","expires_in":3600,"id_token":"a.b.c",)"
    R"("refresh_token":"RT-1","scope":"openid email"})";

class TokenClientTest : public ::testing::Test {
 protected:
  explicit TokenClientTest(TokenEndpointAuth auth = TokenEndpointAuth::kClientSecretBasic)
      : t_([auth](ProviderConfig& p) {
          p.client_id = kOddId;
          p.client_secret = kOddSecret;
          p.token_auth = auth;
        }) {
    t_.ServeDiscovery();
    t_.http.Respond(TestSite::kTokenUrl, 200, kTokenJson);
    t_.http.Respond(TestSite::kRevokeUrl, 200, "");
  }
  HttpRequest LastTokenRequest() {
    auto r = t_.http.LastFor(TestSite::kTokenUrl);
    EXPECT_TRUE(r.has_value());
    return r.value_or(HttpRequest{});
  }
  TestSite t_;
};

TEST_F(TokenClientTest, ExchangesCodeWithPkceVerifierAndRedirectUri) {
  auto tokens = ExchangeCode(*t_.provider, "the-code", "the-verifier");
  ASSERT_TRUE(tokens.ok()) << tokens.error().detail;
  EXPECT_EQ(tokens->access_token, "AT-1");
  EXPECT_EQ(tokens->id_token, "a.b.c");
  EXPECT_EQ(tokens->refresh_token, "RT-1");
  EXPECT_EQ(tokens->expires_in, 3600);
  EXPECT_EQ(tokens->scope, "openid email");
  HttpRequest req = LastTokenRequest();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(Header(req, "Content-Type"), "application/x-www-form-urlencoded");
  auto form = Form(req.body);
  EXPECT_EQ(form["grant_type"], "authorization_code");
  EXPECT_EQ(form["code"], "the-code");
  EXPECT_EQ(form["code_verifier"], "the-verifier");
  EXPECT_EQ(form["redirect_uri"], TestSite::kRedirectUri);
}

TEST_F(TokenClientTest, ClientSecretBasicFormEncodesIdAndSecret) {
  ASSERT_TRUE(ExchangeCode(*t_.provider, "c", "v").ok());
  HttpRequest req = LastTokenRequest();
  std::string auth = Header(req, "Authorization");
  ASSERT_EQ(auth.rfind("Basic ", 0), 0u) << auth;
  std::string decoded = StdBase64Decode(auth.substr(6));
  size_t colon = decoded.find(':');
  ASSERT_NE(colon, std::string::npos);
  // The raw ':' in the id must have been escaped, or the provider would split in the wrong place.
  EXPECT_EQ(UrlDecode(decoded.substr(0, colon)).value_or("?"), kOddId);
  EXPECT_EQ(UrlDecode(decoded.substr(colon + 1)).value_or("?"), kOddSecret);
  auto form = Form(req.body);
  EXPECT_EQ(form.count("client_secret"), 0u);
  EXPECT_EQ(req.body.find("9"), std::string::npos);  // no trace of the secret in the body
}

class TokenClientPostTest : public TokenClientTest {
 protected:
  TokenClientPostTest() : TokenClientTest(TokenEndpointAuth::kClientSecretPost) {}
};

TEST_F(TokenClientPostTest, ClientSecretPostPutsCredentialsInTheBody) {
  ASSERT_TRUE(ExchangeCode(*t_.provider, "c", "v").ok());
  HttpRequest req = LastTokenRequest();
  EXPECT_EQ(Header(req, "Authorization"), "");
  auto form = Form(req.body);
  EXPECT_EQ(form["client_id"], kOddId);
  EXPECT_EQ(form["client_secret"], kOddSecret);
}

class TokenClientPublicTest : public TokenClientTest {
 protected:
  TokenClientPublicTest() : TokenClientTest(TokenEndpointAuth::kNone) {}
};

TEST_F(TokenClientPublicTest, PublicClientSendsIdButNoSecret) {
  ASSERT_TRUE(ExchangeCode(*t_.provider, "c", "v").ok());
  HttpRequest req = LastTokenRequest();
  EXPECT_EQ(Header(req, "Authorization"), "");
  auto form = Form(req.body);
  EXPECT_EQ(form["client_id"], kOddId);
  EXPECT_EQ(form.count("client_secret"), 0u);
}

TEST_F(TokenClientTest, InvalidGrantIsItsOwnError) {
  t_.http.Respond(TestSite::kTokenUrl, 400, R"({"error":"invalid_grant"})");
  EXPECT_EQ(ExchangeCode(*t_.provider, "c", "v").code(), Errc::kInvalidGrant);
  EXPECT_EQ(RefreshTokens(*t_.provider, "RT-1").code(), Errc::kInvalidGrant);
}

TEST_F(TokenClientTest, OtherProviderErrorsAreProviderErrors) {
  t_.http.Respond(TestSite::kTokenUrl, 401, R"({"error":"invalid_client"})");
  EXPECT_EQ(ExchangeCode(*t_.provider, "c", "v").code(), Errc::kProviderError);
  t_.http.Respond(TestSite::kTokenUrl, 502, "<html>bad gateway</html>", "text/html");
  EXPECT_EQ(ExchangeCode(*t_.provider, "c", "v").code(), Errc::kProviderError);
}

TEST_F(TokenClientTest, TransportFailureIsHttpFailure) {
  t_.http.Fail(TestSite::kTokenUrl);
  EXPECT_EQ(ExchangeCode(*t_.provider, "c", "v").code(), Errc::kHttpFailure);
}

TEST_F(TokenClientTest, RefusesMalformedSuccessResponses) {
  t_.http.Respond(TestSite::kTokenUrl, 200, "not json");
  EXPECT_EQ(ExchangeCode(*t_.provider, "c", "v").code(), Errc::kBadJson);
  t_.http.Respond(TestSite::kTokenUrl, 200, R"({"token_type":"Bearer"})");
  EXPECT_EQ(ExchangeCode(*t_.provider, "c", "v").code(), Errc::kBadJson);
  t_.http.Respond(TestSite::kTokenUrl, 200, R"({"access_token":"x","token_type":"MAC"})");
  EXPECT_EQ(ExchangeCode(*t_.provider, "c", "v").code(), Errc::kBadJson);
  t_.http.Respond(TestSite::kTokenUrl, 200, R"({"access_token":"x","token_type":"bearer"})");
  EXPECT_TRUE(ExchangeCode(*t_.provider, "c", "v").ok());
}

TEST_F(TokenClientTest, NoSecretOrTokenEverAppearsInAnErrorDetail) {
  const std::vector<std::pair<long, std::string>> answers = {
      {400, std::string(R"({"error":"invalid_grant","error_description":")") + kOddSecret +
                R"( code-123 RT-secret-1"})"},
      {400, std::string(R"({"error":"p@ss w:rd/+%&=9"})")},
      {401, R"({"error":"invalid_client RT-secret-1"})"},
      {500, std::string("echo ") + kOddSecret},
      {200, R"({"access_token":"","refresh_token":"RT-secret-1"})"},
      {200, R"({"access_token":"AT-secret","token_type":"RT-secret-1"})"},
  };
  for (const auto& [status, body] : answers) {
    t_.http.Respond(TestSite::kTokenUrl, status, body);
    for (auto r : {ExchangeCode(*t_.provider, "code-123", "verifier-abc"),
                   RefreshTokens(*t_.provider, "RT-secret-1")}) {
      ASSERT_FALSE(r.ok()) << body;
      const std::string& d = r.error().detail;
      EXPECT_EQ(d.find("p@ss"), std::string::npos) << d;
      EXPECT_EQ(d.find("code-123"), std::string::npos) << d;
      EXPECT_EQ(d.find("verifier-abc"), std::string::npos) << d;
      EXPECT_EQ(d.find("RT-secret"), std::string::npos) << d;
      EXPECT_EQ(d.find("AT-secret"), std::string::npos) << d;
    }
  }
}

TEST_F(TokenClientTest, RefreshSendsRefreshGrant) {
  ASSERT_TRUE(RefreshTokens(*t_.provider, "RT-9").ok());
  auto form = Form(LastTokenRequest().body);
  EXPECT_EQ(form["grant_type"], "refresh_token");
  EXPECT_EQ(form["refresh_token"], "RT-9");
  EXPECT_EQ(form.count("code"), 0u);
}

TEST_F(TokenClientTest, RevokeSendsTokenHintAndClientAuth) {
  ASSERT_TRUE(RevokeToken(*t_.provider, "RT-9", "refresh_token").ok());
  auto req = t_.http.LastFor(TestSite::kRevokeUrl);
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->method, "POST");
  auto form = Form(req->body);
  EXPECT_EQ(form["token"], "RT-9");
  EXPECT_EQ(form["token_type_hint"], "refresh_token");
  EXPECT_EQ(Header(*req, "Authorization").rfind("Basic ", 0), 0u);
}

TEST_F(TokenClientTest, RevokeReportsProviderErrors) {
  t_.http.Respond(TestSite::kRevokeUrl, 503, "");
  EXPECT_EQ(RevokeToken(*t_.provider, "RT-9", "refresh_token").code(), Errc::kProviderError);
  t_.http.Fail(TestSite::kRevokeUrl);
  EXPECT_EQ(RevokeToken(*t_.provider, "RT-9", "refresh_token").code(), Errc::kHttpFailure);
}

// --- The provider's circuit breaker ----------------------------------------------------------

TEST_F(TokenClientTest, OAuthErrorAnswersDoNotOpenTheBreaker) {
  t_.http.Respond(TestSite::kTokenUrl, 400, R"({"error":"invalid_grant"})");
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(RefreshTokens(*t_.provider, "RT-1").code(), Errc::kInvalidGrant);
  }
  t_.http.Respond(TestSite::kTokenUrl, 401, R"({"error":"invalid_client"})");
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(ExchangeCode(*t_.provider, "c", "v").code(), Errc::kProviderError);
  }
  EXPECT_EQ(t_.provider->breaker().state(), CircuitBreaker::State::kClosed);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 20);
}

TEST_F(TokenClientTest, FiveServerErrorsOpenTheBreakerAndTheSixthCallIsNotSent) {
  t_.http.Respond(TestSite::kTokenUrl, 503, "<html>down</html>", "text/html");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(RefreshTokens(*t_.provider, "RT-1").code(), Errc::kProviderError);
  }
  auto refused = ExchangeCode(*t_.provider, "c", "v");
  EXPECT_EQ(refused.code(), Errc::kCircuitOpen);
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 5);
  // Revocation and the token endpoint share the provider's breaker.
  EXPECT_EQ(RevokeToken(*t_.provider, "RT-1", "refresh_token").code(), Errc::kCircuitOpen);
  EXPECT_EQ(t_.http.CountFor(TestSite::kRevokeUrl), 0);
}

TEST_F(TokenClientTest, TransportFailuresCountAndAnAnswerInBetweenResetsTheCount) {
  t_.http.Fail(TestSite::kTokenUrl);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(RefreshTokens(*t_.provider, "RT-1").code(), Errc::kHttpFailure);
  }
  ASSERT_TRUE(RevokeToken(*t_.provider, "RT-1", "refresh_token").ok());  // the provider answers
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(RefreshTokens(*t_.provider, "RT-1").code(), Errc::kHttpFailure);
  }
  EXPECT_EQ(t_.provider->breaker().state(), CircuitBreaker::State::kClosed);
  EXPECT_EQ(RefreshTokens(*t_.provider, "RT-1").code(), Errc::kHttpFailure);
  EXPECT_EQ(t_.provider->breaker().state(), CircuitBreaker::State::kOpen);
  // After the cool-down one probe goes; the provider is back, so calls flow again.
  t_.clock.Advance(30);
  t_.http.Respond(TestSite::kTokenUrl, 200, kTokenJson);
  EXPECT_TRUE(RefreshTokens(*t_.provider, "RT-1").ok());
  EXPECT_TRUE(RefreshTokens(*t_.provider, "RT-1").ok());
  EXPECT_EQ(t_.provider->breaker().state(), CircuitBreaker::State::kClosed);
}

TEST(TokenClient, RevokeWithoutEndpointIsConfigError) {
  TestSite t;
  t.http.Respond(
      TestSite::kDiscoveryUrl, 200,
      R"({"issuer":"https://op.example","authorization_endpoint":"https://op.example/a",)"
      R"("token_endpoint":"https://op.example/token","jwks_uri":"https://op.example/jwks"})");
  EXPECT_EQ(RevokeToken(*t.provider, "x", "refresh_token").code(), Errc::kConfig);
  EXPECT_EQ(t.http.requests().size(), 1u);
}

}  // namespace
}  // namespace coinpay
