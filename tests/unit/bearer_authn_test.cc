// AuthType coinpay-bearer: JWT access tokens in `Authorization: Bearer`, verified against the
// provider's keys once and then served from the cache; every refusal is an RFC 6750 challenge
// that never repeats the token.
#include "core/bearer_authn.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "claims_json.h"
#include "core/crypto.h"
#include "fakes.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::TestKey;
using testing::TestSite;

constexpr char kAudience[] = "https://api.example-business.com";

std::string HeaderOf(const Action& a, const std::string& name) {
  for (const auto& [k, v] : a.headers) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

// --- BearerTokenOf ----------------------------------------------------------------------------

TEST(BearerTokenOf, AcceptsTheSchemeInAnyCase) {
  for (std::string_view h :
       {"Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER abc.def.ghi", "bEaReR abc.def.ghi"}) {
    auto t = BearerTokenOf(h);
    ASSERT_TRUE(t.ok()) << h;
    EXPECT_EQ(*t, "abc.def.ghi");
  }
}

TEST(BearerTokenOf, TrimsSpacesAroundTheToken) {
  auto t = BearerTokenOf("Bearer    abc-_~+/=  ");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "abc-_~+/=");
}

TEST(BearerTokenOf, AbsentOrOtherSchemeIsNotFound) {
  for (std::string_view h :
       {"", "Basic dXNlcjpwYXNz", "Bearer", "Bearerabc", "DPoP abc", "Bear abc", "Bearer\tabc"}) {
    auto t = BearerTokenOf(h);
    ASSERT_FALSE(t.ok()) << "'" << h << "'";
    EXPECT_EQ(t.code(), Errc::kNotFound) << "'" << h << "'";
  }
}

TEST(BearerTokenOf, MalformedTokenIsBadInput) {
  for (std::string_view h :
       {"Bearer ", "Bearer    ", "Bearer abc def", "Bearer a,b", "Bearer a\"b",
        "Bearer abc\r\nX-Injected: 1", "Bearer a;b", "Bearer \xc3\xa9t\xc3\xa9"}) {
    auto t = BearerTokenOf(h);
    ASSERT_FALSE(t.ok()) << "'" << h << "'";
    EXPECT_EQ(t.code(), Errc::kBadInput) << "'" << h << "'";
  }
}

TEST(BearerTokenOf, OversizedTokenIsBadInput) {
  std::string ok = "Bearer " + std::string(16 * 1024, 'a');
  EXPECT_TRUE(BearerTokenOf(ok).ok());
  std::string big = "Bearer " + std::string(16 * 1024 + 1, 'a');
  EXPECT_EQ(BearerTokenOf(big).code(), Errc::kBadInput);
}

// --- BearerChallenge --------------------------------------------------------------------------

TEST(BearerChallenge, WithoutErrorNamesOnlyTheRealm) {
  BearerConfig c;
  c.realm = "payments";
  Action a = BearerChallenge(c, "", "");
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(HeaderOf(a, "WWW-Authenticate"), "Bearer realm=\"payments\"");
}

TEST(BearerChallenge, CarriesErrorDescriptionAndScope) {
  BearerConfig c;
  Action a = BearerChallenge(c, "insufficient_scope", "Needs more", 403, "read write");
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(HeaderOf(a, "WWW-Authenticate"),
            "Bearer realm=\"api\", error=\"insufficient_scope\", "
            "error_description=\"Needs more\", scope=\"read write\"");
  EXPECT_EQ(HeaderOf(a, "Cache-Control"), "no-store");
}

// --- AuthenticateBearer -----------------------------------------------------------------------

class BearerAuthnTest : public ::testing::Test {
 protected:
  BearerAuthnTest() {
    t_.ServeDiscovery();
    t_.ServeJwks(testing::MakeJwks({&key_, &ec_key_}));
    config_.audiences = {kAudience};
    config_.realm = "example-api";
  }

  // Access-token claims; overrides "name=json;name=json", json "-" removes the claim.
  std::string Claims(const std::string& overrides = "") {
    int64_t now = t_.clock.NowSeconds();
    testing::ClaimMap c = {
        {"iss", "\"" + std::string(TestSite::kIssuer) + "\""},
        {"aud", "\"" + std::string(kAudience) + "\""},
        {"sub", "\"user-42\""},
        {"client_id", "\"client-1\""},
        {"scope", "\"openid read:documents\""},
        {"email", "\"alice@example.com\""},
        {"iat", std::to_string(now)},
        {"exp", std::to_string(now + 300)},
    };
    return testing::ClaimsJson(std::move(c), overrides);
  }

  Action Authn(const std::string& authorization) {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.path = "/api/documents";
    req.authorization = authorization;
    return AuthenticateBearer(*t_.provider, cache_, t_.clock, t_.log, req, config_);
  }
  Action AuthnToken(const std::string& token) { return Authn("Bearer " + token); }

  // An access token as RFC 9068 types it (at+jwt), or with another typ (nullptr: none).
  static std::string At(const TestKey& key, const std::string& payload,
                        const char* typ = "at+jwt") {
    std::string header = "{\"alg\":\"" + key.alg() + "\",\"kid\":\"" + key.kid() + "\"";
    if (typ != nullptr) {
      header += std::string(",\"typ\":\"") + typ + "\"";
    }
    return key.SignRaw(header + "}", payload);
  }

  // A refusal: 401, RFC 6750 invalid_token with the expected description, no token anywhere.
  void ExpectInvalidToken(const std::string& token, const std::string& description) {
    SCOPED_TRACE(description);
    Action a = AuthnToken(token);
    EXPECT_EQ(a.kind, Action::Kind::kRespond);
    EXPECT_EQ(a.status, 401);
    EXPECT_EQ(HeaderOf(a, "WWW-Authenticate"),
              "Bearer realm=\"example-api\", error=\"invalid_token\", error_description=\"" +
                  description + "\"");
    EXPECT_EQ(HeaderOf(a, "Cache-Control"), "no-store");
    EXPECT_EQ(a.content_type, "application/json");
    ExpectTokenNowhere(a, token);
  }

  void ExpectTokenNowhere(const Action& a, const std::string& token) {
    // Any long piece of the token would do; the signature and payload are the telling parts.
    std::string payload = token.substr(token.find('.') + 1, 40);
    for (const std::string& needle : {token, payload}) {
      EXPECT_EQ(a.body.find(needle), std::string::npos);
      for (const auto& [k, v] : a.headers) {
        EXPECT_EQ(v.find(needle), std::string::npos) << k;
      }
      EXPECT_FALSE(t_.log.AnyContains(needle));
    }
    EXPECT_TRUE(a.who().access_token.empty());
  }

  TestSite t_;
  const TestKey& key_ = TestKey::Rsa("rsa-bearer-1");
  const TestKey& ec_key_ = TestKey::Ec("ec-bearer-1");
  VerifiedTokenCache cache_{1000};
  BearerConfig config_;
};

TEST_F(BearerAuthnTest, ValidTokenIsAllowedWithItsSubAndClaims) {
  std::string token = At(key_, Claims());
  Action a = AuthnToken(token);
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_EQ(a.who().user, "user-42");
  bool email = false;
  for (const auto& [k, v] : a.who().claims) {
    email |= v == "alice@example.com";
  }
  EXPECT_TRUE(email);
  EXPECT_NE(a.who().claims_json.find("read:documents"), std::string::npos);
  ASSERT_NE(a.who().parsed_claims, nullptr);
  EXPECT_EQ(a.who().parsed_claims->GetString("sub"), "user-42");
  EXPECT_EQ(t_.provider->stats().jwks_fetches, 1);
}

TEST_F(BearerAuthnTest, EcSignedTokenIsAllowed) {
  Action a = AuthnToken(At(ec_key_, Claims()));
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_EQ(a.who().user, "user-42");
}

TEST_F(BearerAuthnTest, ClientCredentialsTokenUsesTheClientIdAsUser) {
  Action a = AuthnToken(At(key_, Claims("sub=-;client_id=\"batch-job\"")));
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_EQ(a.who().user, "batch-job");
}

TEST_F(BearerAuthnTest, TokenWithNeitherSubNorClientIdIsRefused) {
  ExpectInvalidToken(At(key_, Claims("sub=-;client_id=-")),
                     "The access token lacks a required claim");
}

TEST_F(BearerAuthnTest, AudienceArrayContainingOursIsAllowed) {
  Action a = AuthnToken(At(key_, Claims(std::string("aud=[\"other\",\"") + kAudience + "\"]")));
  EXPECT_EQ(a.kind, Action::Kind::kAllow);
}

TEST_F(BearerAuthnTest, SecondCallIsServedFromTheCache) {
  std::string token = At(key_, Claims());
  Action first = AuthnToken(token);
  ASSERT_EQ(first.kind, Action::Kind::kAllow);
  ASSERT_EQ(t_.http.CountFor(TestSite::kJwksUrl), 1);
  Action second = AuthnToken(token);
  ASSERT_EQ(second.kind, Action::Kind::kAllow);
  // The very identity verified the first time, not a second verification's.
  EXPECT_EQ(second.who().parsed_claims, first.who().parsed_claims);
  EXPECT_EQ(second.who().user, "user-42");
  EXPECT_EQ(t_.http.CountFor(TestSite::kJwksUrl), 1);
  EXPECT_EQ(t_.provider->stats().jwks_fetches, 1);
}

TEST_F(BearerAuthnTest, CachedTokenOutlivesAKeyRotation) {
  std::string token = At(key_, Claims());
  ASSERT_EQ(AuthnToken(token).kind, Action::Kind::kAllow);

  // The provider rotates its keys; a token with the new kid makes us fetch the new set, which
  // no longer has the key that signed `token`.
  auto rotated = TestKey::Generate(TestKey::Kind::kRsa, "rotated");
  t_.ServeJwks(testing::MakeJwks({rotated.get()}));
  t_.clock.Advance(t_.provider_config->jwks_min_refetch_seconds + 1);
  ASSERT_EQ(AuthnToken(At(*rotated, Claims())).kind, Action::Kind::kAllow);
  ASSERT_EQ(t_.http.CountFor(TestSite::kJwksUrl), 2);
  size_t requests = t_.http.requests().size();

  Action a = AuthnToken(token);
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_EQ(a.who().user, "user-42");
  // Even with the provider unreachable.
  t_.http.Fail(TestSite::kJwksUrl);
  t_.http.Fail(TestSite::kDiscoveryUrl);
  EXPECT_EQ(AuthnToken(token).kind, Action::Kind::kAllow);
  EXPECT_EQ(t_.http.requests().size(), requests);

  // A token that was never verified is checked against the current keys, and refused.
  std::string unseen = At(key_, Claims("jti=\"fresh\""));
  EXPECT_EQ(AuthnToken(unseen).status, 401);
}

TEST_F(BearerAuthnTest, CacheHitDoesNotEvenConsultTheProvider) {
  std::string token = At(key_, Claims());
  ASSERT_EQ(AuthnToken(token).kind, Action::Kind::kAllow);
  // A provider client that has never seen any keys, for a provider that now has none of ours.
  TestSite fresh;
  fresh.ServeDiscovery();
  fresh.ServeJwks(testing::MakeJwks({}));
  RequestView req;
  std::string header = "Bearer " + token;
  req.authorization = header;
  Action a = AuthenticateBearer(*fresh.provider, cache_, t_.clock, t_.log, req, config_);
  EXPECT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_TRUE(fresh.http.requests().empty());
}

TEST_F(BearerAuthnTest, CachedTokenStopsWorkingOnceExpired) {
  std::string token = At(key_, Claims());
  ASSERT_EQ(AuthnToken(token).kind, Action::Kind::kAllow);
  t_.clock.Advance(300 + t_.provider_config->leeway_seconds + 1);
  ExpectInvalidToken(token, "The access token expired");
}

TEST_F(BearerAuthnTest, ExpiredTokenIsRefused) {
  int64_t now = t_.clock.NowSeconds();
  std::string exp = std::to_string(now - t_.provider_config->leeway_seconds - 1);
  ExpectInvalidToken(At(key_, Claims("iat=" + std::to_string(now - 3600) + ";exp=" + exp)),
                     "The access token expired");
}

TEST_F(BearerAuthnTest, WrongAudienceIsRefused) {
  ExpectInvalidToken(At(key_, Claims("aud=\"https://another-api.example\"")),
                     "The access token is not meant for this API");
  ExpectInvalidToken(At(key_, Claims("aud=-")), "The access token is not meant for this API");
  // An ID token for our own client is not an access token for the API.
  ExpectInvalidToken(At(key_, Claims(std::string("aud=\"") + TestSite::kClientId + "\"")),
                     "The access token is not meant for this API");
}

TEST_F(BearerAuthnTest, WrongIssuerIsRefused) {
  ExpectInvalidToken(At(key_, Claims("iss=\"https://evil.example\"")),
                     "The access token was issued by another issuer");
  ExpectInvalidToken(At(key_, Claims("iss=\"https://op.example/\"")),
                     "The access token was issued by another issuer");
}

TEST_F(BearerAuthnTest, TokenWithoutExpIsRefused) {
  ExpectInvalidToken(At(key_, Claims("exp=-")), "The access token lacks a required claim");
}

TEST_F(BearerAuthnTest, TokenNotYetValidIsRefused) {
  int64_t future = t_.clock.NowSeconds() + 3600;
  ExpectInvalidToken(
      At(key_, Claims("nbf=" + std::to_string(future) + ";exp=" + std::to_string(future + 300))),
      "The access token is not valid yet");
}

TEST_F(BearerAuthnTest, AlgNoneIsRefused) {
  ExpectInvalidToken(testing::ForgeAlgNone(Claims(), key_.kid()),
                     "The access token's algorithm is not accepted");
}

TEST_F(BearerAuthnTest, Hs256KeyedWithThePublicKeyIsRefused) {
  ExpectInvalidToken(testing::ForgeHs256(Claims(), key_.PublicPem(), key_.kid()),
                     "The access token's algorithm is not accepted");
}

TEST_F(BearerAuthnTest, UnknownKidIsRefused) {
  auto stranger = TestKey::Generate(TestKey::Kind::kRsa, "not-published");
  ExpectInvalidToken(At(*stranger, Claims()), "The access token was signed with an unknown key");
}

TEST_F(BearerAuthnTest, BadSignatureIsRefused) {
  ExpectInvalidToken(testing::TamperSignature(At(key_, Claims())),
                     "The access token's signature is invalid");
  // Our key's kid on a token another key signed.
  auto stranger = TestKey::Generate(TestKey::Kind::kRsa, "x");
  ExpectInvalidToken(stranger->SignJwtWithKid(Claims(), key_.kid()),
                     "The access token's signature is invalid");
  // A valid signature over other claims.
  ExpectInvalidToken(testing::SwapPayload(At(key_, Claims()), Claims("sub=\"admin\"")),
                     "The access token's signature is invalid");
}

TEST_F(BearerAuthnTest, MalformedJwtIsRefusedAsInvalid) {
  ExpectInvalidToken("a.b.c", "The access token is invalid");
  ExpectInvalidToken("bm90LWpzb24.e30.c2ln", "The access token is invalid");  // header "not-json"
}

TEST_F(BearerAuthnTest, RefusedTokenIsNotCached) {
  std::string token = At(key_, Claims("aud=\"elsewhere\""));
  ASSERT_EQ(AuthnToken(token).status, 401);
  EXPECT_EQ(cache_.size(), 0u);
  ASSERT_EQ(AuthnToken(token).status, 401);
}

TEST_F(BearerAuthnTest, NoTokenGetsABareChallenge) {
  for (const std::string& h : {std::string(), std::string("Basic dXNlcjpwYXNz")}) {
    Action a = Authn(h);
    EXPECT_EQ(a.kind, Action::Kind::kRespond);
    EXPECT_EQ(a.status, 401);
    EXPECT_EQ(HeaderOf(a, "WWW-Authenticate"), "Bearer realm=\"example-api\"");
  }
  EXPECT_TRUE(t_.http.requests().empty());
}

TEST_F(BearerAuthnTest, MalformedAuthorizationIs400InvalidRequest) {
  Action a = Authn("Bearer abc def");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(HeaderOf(a, "WWW-Authenticate"),
            "Bearer realm=\"example-api\", error=\"invalid_request\", "
            "error_description=\"The Authorization header is malformed\"");
  EXPECT_EQ(a.body.find("abc def"), std::string::npos);
  EXPECT_TRUE(t_.http.requests().empty());
}

TEST_F(BearerAuthnTest, UnreachableProviderKeysAre503) {
  t_.http.Fail(TestSite::kJwksUrl);
  std::string token = At(key_, Claims());
  Action a = AuthnToken(token);
  EXPECT_EQ(a.kind, Action::Kind::kRespond);
  EXPECT_EQ(a.status, 503);
  EXPECT_NE(a.body.find("temporarily_unavailable"), std::string::npos);
  EXPECT_EQ(HeaderOf(a, "WWW-Authenticate").find("invalid_token"), std::string::npos);
  ExpectTokenNowhere(a, token);
}

TEST_F(BearerAuthnTest, JwksAnsweringAnErrorIs503) {
  t_.http.Respond(TestSite::kJwksUrl, 500, "oops");
  Action a = AuthnToken(At(key_, Claims()));
  EXPECT_EQ(a.status, 503);
}

TEST_F(BearerAuthnTest, UnreachableDiscoveryIs503) {
  t_.http.Fail(TestSite::kDiscoveryUrl);
  Action a = AuthnToken(At(key_, Claims()));
  EXPECT_EQ(a.status, 503);
}

TEST_F(BearerAuthnTest, ProviderRecoversAfterAnOutage) {
  t_.http.Fail(TestSite::kJwksUrl);
  std::string token = At(key_, Claims());
  ASSERT_EQ(AuthnToken(token).status, 503);
  t_.ServeJwks(testing::MakeJwks({&key_}));
  t_.clock.Advance(10);
  EXPECT_EQ(AuthnToken(token).kind, Action::Kind::kAllow);
}

TEST_F(BearerAuthnTest, AcceptedTokenIsNotLoggedEither) {
  std::string token = At(key_, Claims());
  Action a = AuthnToken(token);
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_FALSE(t_.log.AnyContains(token));
  EXPECT_FALSE(t_.log.AnyContains(token.substr(token.rfind('.') + 1, 30)));
}

// --- Opaque (non-JWT) tokens: RFC 7662 introspection ------------------------------------------

constexpr char kIntrospectUrl[] = "https://op.example/introspect";

class OpaqueBearerTest : public BearerAuthnTest {
 protected:
  void ServeDiscoveryWithIntrospection() {
    std::string d = t_.DiscoveryJson();
    d.insert(d.size() - 1, std::string(R"(,"introspection_endpoint":")") + kIntrospectUrl + "\"");
    t_.http.Respond(TestSite::kDiscoveryUrl, 200, d);
  }
  std::string Active(const std::string& extra = "") {
    int64_t now = t_.clock.NowSeconds();
    return std::string(R"({"active":true,"iss":")") + TestSite::kIssuer + R"(","aud":")" +
           kAudience + R"(","sub":"user-7","scope":"read:documents","exp":)" +
           std::to_string(now + 3600) + extra + "}";
  }
  const std::string opaque_ = "opaque-Token_0123456789abcdef";
};

TEST_F(OpaqueBearerTest, WithoutAnIntrospectionEndpointOnlyJwtsAreAccepted) {
  ExpectInvalidToken(opaque_, "Only JWT access tokens are accepted here");
  EXPECT_EQ(t_.http.CountFor(TestSite::kJwksUrl), 0);
}

TEST_F(OpaqueBearerTest, ActiveTokenIsAllowedAndCachedForAtMostAMinute) {
  ServeDiscoveryWithIntrospection();
  t_.http.Respond(kIntrospectUrl, 200, Active());
  Action a = AuthnToken(opaque_);
  ASSERT_EQ(a.kind, Action::Kind::kAllow);
  EXPECT_EQ(a.who().user, "user-7");
  auto req = t_.http.LastFor(kIntrospectUrl);
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->method, "POST");
  EXPECT_NE(req->body.find("token=" + opaque_), std::string::npos);

  EXPECT_EQ(AuthnToken(opaque_).kind, Action::Kind::kAllow);
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 1);
  // Revoked meanwhile: noticed once the minute is up.
  t_.http.Respond(kIntrospectUrl, 200, R"({"active":false})");
  t_.clock.Advance(59);
  EXPECT_EQ(AuthnToken(opaque_).kind, Action::Kind::kAllow);
  t_.clock.Advance(1);
  EXPECT_EQ(AuthnToken(opaque_).status, 401);
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 2);
  EXPECT_FALSE(t_.log.AnyContains(opaque_));
}

TEST_F(OpaqueBearerTest, InactiveOrMisfittingTokensAreRefused) {
  ServeDiscoveryWithIntrospection();
  int64_t now = t_.clock.NowSeconds();
  const std::map<std::string, std::string> answers = {
      {R"({"active":false})", "The access token is not active"},
      {R"({"active":"true","sub":"x","exp":)" + std::to_string(now + 60) + "}",
       "The access token is not active"},
      {R"({"active":true,"sub":"x","aud":")" + std::string(kAudience) + R"(","exp":)" +
           std::to_string(now + 60) + R"(,"iss":"https://evil.example"})",
       "The access token was issued by another issuer"},
      {R"({"active":true,"sub":"x","aud":"other-api","exp":)" + std::to_string(now + 60) + "}",
       "The access token is not meant for this API"},
      {R"({"active":true,"sub":"x","exp":)" + std::to_string(now + 60) + "}",
       "The access token is not meant for this API"},
  };
  int i = 0;
  for (const auto& [answer, description] : answers) {
    SCOPED_TRACE(answer);
    t_.http.Respond(kIntrospectUrl, 200, answer);
    ExpectInvalidToken(opaque_ + std::to_string(i++), description);
  }
}

TEST_F(OpaqueBearerTest, UnreachableIntrospectionIs503) {
  ServeDiscoveryWithIntrospection();
  t_.http.Fail(kIntrospectUrl);
  Action a = AuthnToken(opaque_);
  EXPECT_EQ(a.status, 503);
  ExpectTokenNowhere(a, opaque_);
  t_.http.Respond(kIntrospectUrl, 500, "{}");
  EXPECT_EQ(AuthnToken(opaque_).status, 503);
}

// The provider being unreachable is not the client's fault: it must not be told its token is
// invalid (a client may then throw a good token away), as JWTs are answered 503 in that case.
TEST_F(OpaqueBearerTest, UnreachableDiscoveryIs503NotInvalidToken) {
  t_.http.Fail(TestSite::kDiscoveryUrl);
  Action a = AuthnToken(opaque_);
  EXPECT_EQ(a.status, 503) << HeaderOf(a, "WWW-Authenticate");
  EXPECT_EQ(HeaderOf(a, "WWW-Authenticate").find("invalid_token"), std::string::npos);
}

// --- DPoP-bound tokens (RFC 9449): CoinpayBearerDPoP off | allowed | required ---------------

class BearerDPoPTest : public OpaqueBearerTest {
 protected:
  BearerDPoPTest() {
    auto jwk = Json::Parse(dpop_key_.PublicJwk());
    jwk_ = R"({"crv":"P-256","kty":"EC","x":")" + *jwk->GetString("x") + R"(","y":")" +
           *jwk->GetString("y") + "\"}";
    jkt_ = testing::B64Url(Sha256(jwk_));  // RFC 7638: these members, this order
    config_.dpop_algs = {"ES256", "PS256"};
  }
  std::string BoundClaims() { return Claims("cnf={\"jkt\":\"" + jkt_ + "\"}"); }
  std::string Proof(const std::string& token, const std::string& htu = kApiUrl,
                    const std::string& method = "GET") {
    std::string claims = R"({"jti":"jti-)" + std::to_string(++jti_) + R"(","htm":")" + method +
                         R"(","htu":")" + htu + R"(","iat":)" +
                         std::to_string(t_.clock.NowSeconds()) + R"(,"ath":")" +
                         testing::B64Url(Sha256(token)) + "\"}";
    return dpop_key_.SignRaw(R"({"typ":"dpop+jwt","alg":"ES256","jwk":)" + jwk_ + "}", claims);
  }
  Action Call(DPoPMode mode, const std::string& authorization, const std::string& proof = "") {
    RequestView req;
    req.method = "GET";
    req.https = true;
    req.host = "api.example";
    req.path = "/v1/payments";
    req.authorization = authorization;
    req.dpop = proof;
    return AuthenticateBearer(*t_.provider, cache_, t_.clock, t_.log, req, config_,
                              BearerDPoP{mode, &t_.store});
  }
  static std::vector<std::string> Challenges(const Action& a) {
    std::vector<std::string> out;
    for (const auto& [k, v] : a.headers) {
      if (k == "WWW-Authenticate") {
        out.push_back(v);
      }
    }
    return out;
  }
  static constexpr char kApiUrl[] = "https://api.example/v1/payments";
  const TestKey& dpop_key_ = TestKey::Ec("dpop-holder");
  std::string jwk_;
  std::string jkt_;
  int jti_ = 0;
};

TEST_F(BearerDPoPTest, BoundTokenWithAGoodProofIsAllowed) {
  std::string token = At(key_, BoundClaims());
  for (DPoPMode mode : {DPoPMode::kAllowed, DPoPMode::kRequired}) {
    Action a = Call(mode, "DPoP " + token, Proof(token));
    ASSERT_EQ(a.kind, Action::Kind::kAllow) << HeaderOf(a, "WWW-Authenticate");
    EXPECT_EQ(a.who().user, "user-42");
    EXPECT_EQ(a.who().dpop_jkt, jkt_);
  }
}

TEST_F(BearerDPoPTest, BoundTokenAsPlainBearerIsRefusedInEveryMode) {
  std::string token = At(key_, BoundClaims());
  for (DPoPMode mode : {DPoPMode::kOff, DPoPMode::kAllowed, DPoPMode::kRequired}) {
    Action a = Call(mode, "Bearer " + token, Proof(token));
    EXPECT_EQ(a.status, 401);
    auto c = Challenges(a);
    ASSERT_FALSE(c.empty());
    std::string all = c.front() + (c.size() > 1 ? c.back() : "");
    EXPECT_NE(all.find("invalid_token"), std::string::npos);
    EXPECT_NE(all.find("A DPoP-bound access token needs its DPoP proof"), std::string::npos);
  }
  EXPECT_TRUE(t_.log.HasTag(420));
}

TEST_F(BearerDPoPTest, CachedBoundTokenStillNeedsAFreshProofEachTime) {
  std::string token = At(key_, BoundClaims());
  std::string proof = Proof(token);
  ASSERT_EQ(Call(DPoPMode::kRequired, "DPoP " + token, proof).kind, Action::Kind::kAllow);
  EXPECT_EQ(cache_.size(), 1u);
  EXPECT_EQ(Call(DPoPMode::kRequired, "DPoP " + token).status, 401);         // no proof
  EXPECT_EQ(Call(DPoPMode::kRequired, "DPoP " + token, proof).status, 401);  // replayed
  EXPECT_EQ(Call(DPoPMode::kOff, "Bearer " + token).status, 401);            // as Bearer
  EXPECT_EQ(Call(DPoPMode::kRequired, "DPoP " + token, Proof(token)).kind, Action::Kind::kAllow);
  EXPECT_TRUE(t_.log.HasTag(424));
}

TEST_F(BearerDPoPTest, ReplayedProofIsRefusedWithInvalidDPoPProof) {
  std::string token = At(key_, BoundClaims());
  std::string proof = Proof(token);
  ASSERT_EQ(Call(DPoPMode::kRequired, "DPoP " + token, proof).kind, Action::Kind::kAllow);
  Action a = Call(DPoPMode::kRequired, "DPoP " + token, proof);
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(Challenges(a),
            std::vector<std::string>{"DPoP realm=\"example-api\", algs=\"ES256 PS256\", "
                                     "error=\"invalid_dpop_proof\", error_description=\"The DPoP "
                                     "proof was used before\""});
  EXPECT_EQ(a.body, "{\"error\":\"invalid_dpop_proof\"}\n");
}

TEST_F(BearerDPoPTest, ProofForAnotherUrlOrMethodOrWithoutOneIsRefused) {
  std::string token = At(key_, BoundClaims());
  for (const std::string& proof :
       {Proof(token, "https://api.example/v1/refunds"), Proof(token, kApiUrl, "POST"),
        Proof(At(key_, Claims()), kApiUrl), std::string(), Proof(token) + ", " + Proof(token)}) {
    Action a = Call(DPoPMode::kRequired, "DPoP " + token, proof);
    EXPECT_EQ(a.status, 401);
    ASSERT_EQ(Challenges(a).size(), 1u);
    EXPECT_NE(Challenges(a)[0].find("error=\"invalid_dpop_proof\""), std::string::npos);
  }
  EXPECT_TRUE(t_.log.HasTag(423));
  ExpectTokenNowhere(Call(DPoPMode::kRequired, "DPoP " + token), token);
}

TEST_F(BearerDPoPTest, RequiredRefusesUnboundTokensAllowedTakesThem) {
  std::string token = At(key_, Claims());
  Action refused = Call(DPoPMode::kRequired, "Bearer " + token);
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(Challenges(refused)[0].find("This API accepts only DPoP-bound access tokens"),
            std::string::npos);
  EXPECT_EQ(Challenges(refused)[0].rfind("DPoP ", 0), 0u);
  EXPECT_EQ(Call(DPoPMode::kAllowed, "Bearer " + token).kind, Action::Kind::kAllow);
  EXPECT_EQ(Call(DPoPMode::kOff, "Bearer " + token).kind, Action::Kind::kAllow);
  // An unbound token under the DPoP scheme has nothing to prove its proof against.
  EXPECT_EQ(Call(DPoPMode::kAllowed, "DPoP " + token, Proof(token)).status, 401);
}

TEST_F(BearerDPoPTest, AllowedChallengesWithBothSchemes) {
  Action a = Call(DPoPMode::kAllowed, "");
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(Challenges(a),
            (std::vector<std::string>{"DPoP realm=\"example-api\", algs=\"ES256 PS256\"",
                                      "Bearer realm=\"example-api\""}));
  Action off = Call(DPoPMode::kOff, "");
  EXPECT_EQ(Challenges(off), std::vector<std::string>{"Bearer realm=\"example-api\""});
  Action required = Call(DPoPMode::kRequired, "");
  EXPECT_EQ(Challenges(required),
            std::vector<std::string>{"DPoP realm=\"example-api\", algs=\"ES256 PS256\""});
}

TEST_F(BearerDPoPTest, InsufficientScopeIsAnsweredInTheSchemeTheRequestUsed) {
  Action dpop = DPoPChallenge(config_, DPoPMode::kAllowed, true, "insufficient_scope",
                              "The access token lacks a required scope", 403, "payments");
  EXPECT_EQ(dpop.status, 403);
  EXPECT_EQ(Challenges(dpop),
            (std::vector<std::string>{
                "DPoP realm=\"example-api\", algs=\"ES256 PS256\", error=\"insufficient_scope\", "
                "error_description=\"The access token lacks a required scope\", scope=\"payments\"",
                "Bearer realm=\"example-api\""}));
  Action bearer = DPoPChallenge(config_, DPoPMode::kAllowed, false, "insufficient_scope",
                                "The access token lacks a required scope", 403, "payments");
  EXPECT_EQ(Challenges(bearer)[1],
            "Bearer realm=\"example-api\", error=\"insufficient_scope\", error_description=\"The "
            "access token lacks a required scope\", scope=\"payments\"");
  EXPECT_TRUE(UsesDPoPScheme(DPoPMode::kRequired, "dpop abc"));
  EXPECT_FALSE(UsesDPoPScheme(DPoPMode::kOff, "DPoP abc"));
  EXPECT_FALSE(UsesDPoPScheme(DPoPMode::kAllowed, "Bearer abc"));
}

TEST_F(BearerDPoPTest, OffModeDoesNotTakeTheDPoPScheme) {
  std::string token = At(key_, BoundClaims());
  Action a = Call(DPoPMode::kOff, "DPoP " + token, Proof(token));
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(Challenges(a), std::vector<std::string>{"Bearer realm=\"example-api\""});
}

TEST_F(BearerDPoPTest, TokenBoundByACertificateIsRefused) {
  Action a = Call(DPoPMode::kOff, "Bearer " + At(key_, Claims("cnf={\"x5t#S256\":\"abc\"}")));
  EXPECT_EQ(a.status, 401);
}

TEST_F(BearerDPoPTest, StoreFailureIs503NotAcceptance) {
  std::string token = At(key_, BoundClaims());
  t_.store.set_unavailable(true);
  EXPECT_EQ(Call(DPoPMode::kRequired, "DPoP " + token, Proof(token)).status, 503);
}

TEST_F(BearerDPoPTest, IntrospectedBoundTokenNeedsItsProofToo) {
  ServeDiscoveryWithIntrospection();
  t_.http.Respond(kIntrospectUrl, 200, Active(",\"cnf\":{\"jkt\":\"" + jkt_ + "\"}"));
  EXPECT_EQ(Call(DPoPMode::kAllowed, "Bearer " + opaque_).status, 401);
  Action a = Call(DPoPMode::kAllowed, "DPoP " + opaque_, Proof(opaque_));
  ASSERT_EQ(a.kind, Action::Kind::kAllow) << HeaderOf(a, "WWW-Authenticate");
  EXPECT_EQ(a.who().user, "user-7");
  EXPECT_EQ(Call(DPoPMode::kAllowed, "DPoP " + opaque_).status, 401);
  EXPECT_EQ(t_.http.CountFor(kIntrospectUrl), 1);
}

}  // namespace
}  // namespace coinpay
