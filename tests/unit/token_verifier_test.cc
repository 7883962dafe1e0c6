// Every kind of token against every other kind's tokens: an ID token, an access token and a
// logout token are each accepted where they belong and refused everywhere else.
#include "core/token_verifier.h"

#include <gtest/gtest.h>

#include <string>

#include "fakes.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::TestKey;
using testing::TestSite;

constexpr char kApi[] = "https://api.example-business.com";
constexpr char kEvents[] = R"({"http://schemas.openid.net/event/backchannel-logout":{}})";

class TokenVerifierTest : public ::testing::Test {
 protected:
  TokenVerifierTest() {
    t_.ServeDiscovery();
    t_.ServeJwks(testing::MakeJwks({&key_}));
    access_.audiences = {kApi};
    access_.own_client_ids = {TestSite::kClientId};
  }

  std::string Sign(const char* typ, const std::string& claims) const {
    std::string header = R"({"alg":"RS256","kid":")" + key_.kid() + "\"";
    if (typ != nullptr) {
      header += std::string(R"(,"typ":")") + typ + "\"";
    }
    return key_.SignRaw(header + "}", claims);
  }
  std::string Common(const std::string& aud) const {
    int64_t now = t_.clock.NowSeconds();
    return std::string(R"({"iss":")") + TestSite::kIssuer + R"(","aud":")" + aud +
           R"(","iat":)" + std::to_string(now) + R"(,"exp":)" + std::to_string(now + 300);
  }
  std::string IdToken() const {
    return Sign("JWT", Common(TestSite::kClientId) +
                           R"(,"sub":"alice","nonce":"n-1","auth_time":1700000000})");
  }
  std::string AccessToken(const char* typ = "at+jwt", const std::string& aud = kApi) const {
    return Sign(typ, Common(aud) + R"(,"sub":"alice","scope":"read"})");
  }
  std::string LogoutToken() const {
    int64_t now = t_.clock.NowSeconds();
    return Sign("logout+jwt", std::string(R"({"iss":")") + TestSite::kIssuer + R"(","aud":")" +
                                  TestSite::kClientId + R"(","iat":)" + std::to_string(now) +
                                  R"(,"exp":)" + std::to_string(now + 120) +
                                  R"(,"jti":"j-1","sid":"s-1","events":)" + kEvents + "}");
  }

  Result<VerifiedJwt> As(const std::string& token, TokenKind kind,
                         const TokenExpectations& x = {}) {
    TokenExpectations expect = x;
    if (kind == TokenKind::kIdToken && expect.nonce.empty()) {
      expect.nonce = "n-1";
    }
    return VerifyToken(*t_.provider, token, kind, expect, t_.clock.NowSeconds());
  }

  TestSite t_;
  const TestKey& key_ = TestKey::Rsa("rsa-kinds-1");
  TokenExpectations access_;
};

TEST_F(TokenVerifierTest, EachKindIsAcceptedWhereItBelongs) {
  EXPECT_TRUE(As(IdToken(), TokenKind::kIdToken).ok());
  EXPECT_TRUE(As(AccessToken(), TokenKind::kAccessToken, access_).ok());
  EXPECT_TRUE(As(LogoutToken(), TokenKind::kLogoutToken).ok());
}

TEST_F(TokenVerifierTest, IdTokenIsNoAccessTokenEvenWhenTheApisAudienceIsTheClientId) {
  TokenExpectations x = access_;
  x.audiences = {TestSite::kClientId};  // the common setup the issue describes
  EXPECT_FALSE(As(IdToken(), TokenKind::kAccessToken, x).ok());
  x.audiences.clear();  // CoinpayBearerAnyAudience On
  EXPECT_FALSE(As(IdToken(), TokenKind::kAccessToken, x).ok());
  x.access_token_type = AccessTokenType::kJwt;  // plain JWT access tokens allowed
  EXPECT_FALSE(As(IdToken(), TokenKind::kAccessToken, x).ok()) << "nonce, aud = our client";
}

TEST_F(TokenVerifierTest, LogoutTokenIsNoAccessTokenNorIdToken) {
  TokenExpectations x = access_;
  x.audiences = {TestSite::kClientId};
  EXPECT_FALSE(As(LogoutToken(), TokenKind::kAccessToken, x).ok());
  x.access_token_type = AccessTokenType::kJwt;
  EXPECT_FALSE(As(LogoutToken(), TokenKind::kAccessToken, x).ok());
  EXPECT_FALSE(As(LogoutToken(), TokenKind::kIdToken).ok());
  EXPECT_FALSE(As(LogoutToken(), TokenKind::kRefreshedIdToken).ok());
}

TEST_F(TokenVerifierTest, AccessTokenIsNoIdTokenNorLogoutToken) {
  std::string at = AccessToken("at+jwt", TestSite::kClientId);
  EXPECT_FALSE(As(at, TokenKind::kIdToken).ok());
  EXPECT_FALSE(As(at, TokenKind::kRefreshedIdToken).ok());
  EXPECT_FALSE(As(at, TokenKind::kLogoutToken).ok());
}

TEST_F(TokenVerifierTest, IdTokenIsNoLogoutToken) {
  EXPECT_FALSE(As(IdToken(), TokenKind::kLogoutToken).ok());
}

TEST_F(TokenVerifierTest, AccessTokensMustBeTypedAtJwtByDefault) {
  EXPECT_FALSE(As(AccessToken("JWT"), TokenKind::kAccessToken, access_).ok());
  EXPECT_FALSE(As(AccessToken(nullptr), TokenKind::kAccessToken, access_).ok());
  EXPECT_TRUE(As(AccessToken("application/AT+JWT"), TokenKind::kAccessToken, access_).ok());
}

TEST_F(TokenVerifierTest, PlainJwtAccessTokensPassWhenConfiguredUnlessAddressedToOurClient) {
  TokenExpectations x = access_;
  x.access_token_type = AccessTokenType::kJwt;
  EXPECT_TRUE(As(AccessToken("JWT"), TokenKind::kAccessToken, x).ok());
  EXPECT_TRUE(As(AccessToken(nullptr), TokenKind::kAccessToken, x).ok());
  x.audiences = {TestSite::kClientId};
  EXPECT_FALSE(As(AccessToken("JWT", TestSite::kClientId), TokenKind::kAccessToken, x).ok());
  // Typed at+jwt, the same audience is an access token by its type.
  EXPECT_TRUE(As(AccessToken("at+jwt", TestSite::kClientId), TokenKind::kAccessToken, x).ok());
}

TEST_F(TokenVerifierTest, RefreshedIdTokenNeedsNoNonceButASubject) {
  std::string no_nonce = Sign("JWT", Common(TestSite::kClientId) + R"(,"sub":"alice"})");
  EXPECT_TRUE(As(no_nonce, TokenKind::kRefreshedIdToken).ok());
  EXPECT_EQ(As(no_nonce, TokenKind::kIdToken).code(), Errc::kNonceMismatch);
  std::string no_sub = Sign("JWT", Common(TestSite::kClientId) + "}");
  EXPECT_EQ(As(no_sub, TokenKind::kRefreshedIdToken).code(), Errc::kMissingClaim);
}

TEST_F(TokenVerifierTest, UnknownTypIsRefusedForEveryKind) {
  std::string odd = Sign("secevent+jwt", Common(TestSite::kClientId) +
                                             R"(,"sub":"alice","nonce":"n-1"})");
  EXPECT_FALSE(As(odd, TokenKind::kIdToken).ok());
  TokenExpectations x = access_;
  x.access_token_type = AccessTokenType::kJwt;
  x.audiences.clear();
  EXPECT_FALSE(As(odd, TokenKind::kAccessToken, x).ok());
}

}  // namespace
}  // namespace coinpay
