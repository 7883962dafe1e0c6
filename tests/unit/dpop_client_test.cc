// The module as a DPoP client (CoinpayDPoP): proofs on the token calls that the resource-side
// checker accepts, the provider's DPoP-Nonce followed once and remembered, token_type checked
// under `required`, the session's key kept in its record, and SetHandler coinpay-dpop-proof.
#include "core/dpop_client.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/dpop_proof.h"
#include "core/dpop_proof_handler.h"
#include "core/encoding.h"
#include "core/jose.h"
#include "core/json.h"
#include "core/session.h"
#include "core/token_client.h"
#include "fakes.h"

namespace coinpay {
namespace {

using testing::TestSite;

std::string Header(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (IEquals(k, name)) {
      return v;
    }
  }
  return "";
}

Json ClaimsOf(const std::string& jws) {
  size_t a = jws.find('.');
  size_t b = jws.find('.', a + 1);
  return *Json::Parse(*Base64UrlDecode(jws.substr(a + 1, b - a - 1)));
}

constexpr char kDPoPTokenJson[] =
    R"({"access_token":"AT-D","token_type":"DPoP","expires_in":300,"refresh_token":"RT-D"})";
constexpr char kBearerTokenJson[] =
    R"({"access_token":"AT-B","token_type":"Bearer","expires_in":300,"refresh_token":"RT-B"})";

class DPoPClientTest : public ::testing::Test {
 protected:
  explicit DPoPClientTest(ClientDPoP mode = ClientDPoP::kRequired)
      : t_([mode](ProviderConfig& p) { p.dpop = mode; }) {
    t_.ServeDiscovery();
    key_ = *SigningKey::GenerateEs256();
  }
  ClientProof Signer() { return ClientProof{key_.get(), &t_.random, t_.clock.NowSeconds()}; }
  // The proof a request carried, checked as a resource server checks one (without ath).
  void ExpectValidProof(const HttpRequest& req, const std::string& method,
                        const std::string& nonce = "") {
    std::string proof = Header(req, "DPoP");
    ASSERT_FALSE(proof.empty());
    Json claims = ClaimsOf(proof);
    EXPECT_EQ(claims.GetString("htm"), method);
    EXPECT_EQ(claims.GetString("htu"), req.url);
    EXPECT_EQ(claims.GetString("nonce").value_or(""), nonce);
    EXPECT_FALSE(claims.GetString("jti").value_or("").empty());
  }

  TestSite t_;
  std::shared_ptr<const SigningKey> key_;
};

TEST_F(DPoPClientTest, ProofsVerifyAsTheResourceSideChecksThem) {
  ClientProof signer = Signer();
  auto proof = MakeDPoPProof(signer, "POST", "https://api.example/v1/payments?x=1#f", "", "AT");
  ASSERT_TRUE(proof.ok()) << proof.error().detail;
  std::vector<std::string> algs = {"ES256"};
  std::string htu = "https://api.example/v1/payments";
  DPoPProofExpectations expect{"POST", htu, "AT", key_->Thumbprint(), algs, signer.now};
  auto checked = CheckDPoPProof(*proof, expect);
  EXPECT_TRUE(checked.ok()) << checked.error().detail;
  EXPECT_EQ(ClaimsOf(*proof).GetString("htu"), htu);  // no query, no fragment
  auto again = MakeDPoPProof(signer, "POST", htu, "", "AT");
  EXPECT_NE(ClaimsOf(*again).GetString("jti"), ClaimsOf(*proof).GetString("jti"));
}

TEST_F(DPoPClientTest, CodeExchangeAndRefreshCarryAProof) {
  t_.http.Respond(TestSite::kTokenUrl, 200, kDPoPTokenJson);
  ClientProof signer = Signer();
  auto tokens = ExchangeCode(*t_.provider, "code", "verifier", &signer);
  ASSERT_TRUE(tokens.ok()) << tokens.error().detail;
  EXPECT_TRUE(IsDPoPBound(*tokens));
  ExpectValidProof(*t_.http.LastFor(TestSite::kTokenUrl), "POST");
  ASSERT_TRUE(RefreshTokens(*t_.provider, "RT-D", &signer).ok());
  ExpectValidProof(*t_.http.LastFor(TestSite::kTokenUrl), "POST");
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 2);
}

TEST_F(DPoPClientTest, UseDPoPNonceIsRetriedOnceWithTheNonceAndRemembered) {
  int calls = 0;
  t_.http.Handle(TestSite::kTokenUrl, [&](const HttpRequest& req) {
    ++calls;
    HttpResponse r;
    r.dpop_nonce = "nonce-" + std::to_string(calls);
    if (ClaimsOf(Header(req, "DPoP")).GetString("nonce").value_or("").empty()) {
      r.status = 400;
      r.body = R"({"error":"use_dpop_nonce"})";
    } else {
      r.status = 200;
      r.body = kDPoPTokenJson;
    }
    return Result<HttpResponse>(r);
  });
  ClientProof signer = Signer();
  ASSERT_TRUE(ExchangeCode(*t_.provider, "code", "verifier", &signer).ok());
  EXPECT_EQ(calls, 2);
  ExpectValidProof(*t_.http.LastFor(TestSite::kTokenUrl), "POST", "nonce-1");
  EXPECT_EQ(t_.provider->dpop_nonce(), "nonce-2");
  // The next call starts with the remembered nonce: no refusal first.
  ASSERT_TRUE(RefreshTokens(*t_.provider, "RT-D", &signer).ok());
  EXPECT_EQ(calls, 3);
  ExpectValidProof(*t_.http.LastFor(TestSite::kTokenUrl), "POST", "nonce-2");
}

TEST_F(DPoPClientTest, ANonceRefusalTwiceInARowIsNotRetriedForever) {
  t_.http.Handle(TestSite::kTokenUrl, [&](const HttpRequest&) {
    HttpResponse r;
    r.status = 400;
    r.dpop_nonce = "always-new";
    r.body = R"({"error":"use_dpop_nonce"})";
    return Result<HttpResponse>(r);
  });
  ClientProof signer = Signer();
  auto tokens = ExchangeCode(*t_.provider, "code", "verifier", &signer);
  EXPECT_FALSE(tokens.ok());
  EXPECT_EQ(t_.http.CountFor(TestSite::kTokenUrl), 2);
}

TEST_F(DPoPClientTest, RequiredRefusesABearerTokenType) {
  t_.http.Respond(TestSite::kTokenUrl, 200, kBearerTokenJson);
  ClientProof signer = Signer();
  auto tokens = ExchangeCode(*t_.provider, "code", "verifier", &signer);
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.code(), Errc::kProviderError);
  EXPECT_NE(tokens.error().detail.find("CoinpayDPoP required"), std::string::npos);
  EXPECT_EQ(tokens.error().detail.find("AT-B"), std::string::npos);
}

class DPoPClientOnTest : public DPoPClientTest {
 protected:
  DPoPClientOnTest() : DPoPClientTest(ClientDPoP::kOn) {}
};

TEST_F(DPoPClientOnTest, OnTakesABearerTokenWhenTheProviderDidNotBind) {
  t_.http.Respond(TestSite::kTokenUrl, 200, kBearerTokenJson);
  ClientProof signer = Signer();
  auto tokens = ExchangeCode(*t_.provider, "code", "verifier", &signer);
  ASSERT_TRUE(tokens.ok()) << tokens.error().detail;
  EXPECT_FALSE(IsDPoPBound(*tokens));
}

TEST(DPoPSessionRecord, KeepsTheKeyAndRecordsWithoutOneKeepTheirLayout) {
  SessionRecord s;
  s.sub = "alice";
  s.access_token = "AT";
  s.last_seen_at = 0x0102030405060708;
  std::string plain = EncodeSession(s);
  s.dpop_key = (*SigningKey::GenerateEs256())->PrivateJwkJson();
  s.access_token_dpop = true;
  std::string with_key = EncodeSession(s);
  // last_seen_at stays the last 8 bytes (Touch rewrites them in place).
  EXPECT_EQ(with_key.substr(with_key.size() - 8), plain.substr(plain.size() - 8));
  auto back = DecodeSession(with_key);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->dpop_key, s.dpop_key);
  EXPECT_TRUE(back->access_token_dpop);
  EXPECT_EQ(back->last_seen_at, s.last_seen_at);
  EXPECT_EQ(EncodeSession(*back), with_key);
  auto old = DecodeSession(plain);
  ASSERT_TRUE(old.has_value());
  EXPECT_TRUE(old->dpop_key.empty());
  EXPECT_EQ(DecodeSession(with_key + "x"), std::nullopt);
  // Read without its tokens, a DPoP record leaves the key (a secret) unread.
  auto light = DecodeSession(with_key, SessionParts::kWithoutTokens);
  ASSERT_TRUE(light.has_value());
  EXPECT_TRUE(light->access_token.empty());
  EXPECT_TRUE(light->dpop_key.empty());
  EXPECT_TRUE(light->access_token_dpop);
}

// A page that does not pass the token reads the record without its tokens and touches it:
// the DPoP key and the bound flag survive the touch.
TEST(DPoPSessionRecord, SurvivesATouchByAPageThatReadsNoTokens) {
  TestSite t;
  SessionRecord r;
  r.scope = t.session_config.scope;
  r.issuer = t.provider->config().issuer;
  r.client_id = t.provider->config().client_id;
  r.sub = "alice";
  r.access_token = "AT";
  r.dpop_key = (*SigningKey::GenerateEs256())->PrivateJwkJson();
  r.access_token_dpop = true;
  int64_t now = t.clock.NowSeconds();
  std::string id = *t.sessions->Create(r, now);
  t.clock.Advance(120);
  now = t.clock.NowSeconds();
  auto light =
      t.sessions->Load(t.session_config.cookie_name + "=" + id, now, SessionParts::kWithoutTokens);
  ASSERT_TRUE(light.ok() && light->has_value());
  t.sessions->Touch(**light, now);
  auto full = t.sessions->LoadById(id, now);
  ASSERT_TRUE(full.ok() && full->has_value());
  EXPECT_EQ((*full)->record.last_seen_at, now);  // the touch was written
  EXPECT_EQ((*full)->record.dpop_key, r.dpop_key);
  EXPECT_TRUE((*full)->record.access_token_dpop);
  EXPECT_EQ((*full)->record.access_token, "AT");
}

// --- SetHandler coinpay-dpop-proof ------------------------------------------------------------

class DPoPProofHandlerTest : public DPoPClientTest {
 protected:
  DPoPProofHandlerTest() {
    SessionRecord r;
    r.scope = t_.session_config.scope;
    r.provider = t_.provider->config().name;
    r.issuer = t_.provider->config().issuer;
    r.client_id = t_.provider->config().client_id;
    r.sub = "alice";
    r.user = "alice";
    r.access_token = "AT-D";
    r.access_expires_at = t_.clock.NowSeconds() + 300;
    r.dpop_key = key_->PrivateJwkJson();
    r.access_token_dpop = true;
    session_id_ = *t_.sessions->Create(r, t_.clock.NowSeconds());
    handle_ = *MakeDPoPHandle(site_, session_id_, t_.clock.NowSeconds() + 300);
  }
  Action Ask(const std::string& form) {
    RequestView req;
    req.method = "POST";
    req.form_body = form;
    return HandleDPoPProof(site_, req);
  }
  Site site_ = t_.site();
  std::string session_id_;
  std::string handle_;
};

TEST_F(DPoPProofHandlerTest, GivesAFreshProofForTheSessionsTokenAndTheAskedUrl) {
  Action a = Ask("handle=" + UrlEncode(handle_) +
                 "&htm=POST&htu=" + UrlEncode("https://api.example/v1/payments"));
  ASSERT_EQ(a.status, 200) << a.body;
  auto answer = Json::Parse(a.body);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->GetString("token_type"), "DPoP");
  std::string proof = answer->GetString("proof").value_or("");
  std::vector<std::string> algs = {"ES256"};
  std::string htu = "https://api.example/v1/payments";
  DPoPProofExpectations expect{
      "POST", htu, "AT-D", key_->Thumbprint(), algs, t_.clock.NowSeconds()};
  auto checked = CheckDPoPProof(proof, expect);
  EXPECT_TRUE(checked.ok()) << checked.error().detail;
  EXPECT_FALSE(t_.log.AnyContains(proof));
  EXPECT_FALSE(t_.log.AnyContains("AT-D"));
}

TEST_F(DPoPProofHandlerTest, RefusesMalformedRequestsForgedOrExpiredHandlesAndEndedSessions) {
  const std::string htu = "&htm=GET&htu=" + UrlEncode("https://api.example/x");
  EXPECT_EQ(Ask("htm=GET&htu=https%3A%2F%2Fa%2F").status, 400);                    // no handle
  EXPECT_EQ(Ask("handle=" + UrlEncode(handle_) + "&htm=get&htu=x").status, 400);   // bad htm/htu
  EXPECT_EQ(Ask("handle=" + UrlEncode(handle_) + htu + "&htm=POST").status, 400);  // repeated
  EXPECT_EQ(Ask("handle=forged" + htu).status, 403);
  // A handle is sealed for its own purpose: a session id sealed for anything else does not open.
  auto other = t_.session_config.sealer->Seal("login-state", session_id_,
                                              t_.clock.NowSeconds() + 300, t_.random);
  EXPECT_EQ(Ask("handle=" + UrlEncode(*other) + htu).status, 403);
  t_.clock.Advance(301);
  EXPECT_EQ(Ask("handle=" + UrlEncode(handle_) + htu).status, 403);  // expired with its token
  handle_ = *MakeDPoPHandle(site_, session_id_, t_.clock.NowSeconds() + 300);
  ASSERT_TRUE(t_.sessions->Destroy(session_id_).ok());
  EXPECT_EQ(Ask("handle=" + UrlEncode(handle_) + htu).status, 403);  // signed out
  EXPECT_TRUE(t_.log.HasTag(428));
}

}  // namespace
}  // namespace coinpay
