// Claim rules for ID and access tokens: exact issuer, audience forms, azp, time window with
// leeway at its edges, nonce.
#include "core/claims_policy.h"

#include <gtest/gtest.h>

namespace coinpay {
namespace {

constexpr int64_t kNow = 1700000000;

Json Claims(const std::string& json) {
  auto j = Json::Parse(json);
  EXPECT_TRUE(j.ok()) << json;
  return j.ok() ? *j : Json();
}

class ClaimsPolicyTest : public ::testing::Test {
 protected:
  ClaimsPolicyTest() {
    policy_.issuer = "https://op.example";
    policy_.audiences = {"client-1"};
    policy_.leeway_seconds = 60;
    policy_.client_id = "client-1";
  }
  Errc Check(const std::string& json, int64_t now = kNow) {
    return CheckClaims(Claims(json), policy_, now).code();
  }
  static std::string With(const std::string& extra) {
    return R"({"iss":"https://op.example","aud":"client-1","exp":1700000600,"iat":1700000000)" +
           extra + "}";
  }
  ClaimsPolicy policy_;
};

TEST_F(ClaimsPolicyTest, AcceptsAGoodToken) { EXPECT_EQ(Check(With("")), Errc::kOk); }

TEST_F(ClaimsPolicyTest, IssuerMustMatchExactly) {
  EXPECT_EQ(Check(R"({"aud":"client-1","exp":1700000600})"), Errc::kMissingClaim);
  for (const char* iss : {"https://op.example/", "https://OP.example", "http://op.example",
                          "https://op.example.evil", ""}) {
    std::string j = std::string(R"({"iss":")") + iss + R"(","aud":"client-1","exp":1700000600})";
    EXPECT_EQ(Check(j), Errc::kIssuerMismatch) << iss;
  }
  EXPECT_EQ(Check(R"({"iss":["https://op.example"],"aud":"client-1","exp":1700000600})"),
            Errc::kMissingClaim);
}

TEST_F(ClaimsPolicyTest, AudienceAsStringOrArray) {
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":"other","exp":1700000600})"),
            Errc::kAudienceMismatch);
  EXPECT_EQ(Check(R"({"iss":"https://op.example","exp":1700000600})"), Errc::kAudienceMismatch);
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":[],"exp":1700000600})"),
            Errc::kAudienceMismatch);
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":["client-1"],"exp":1700000600})"),
            Errc::kOk);
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":["a","b"],"azp":"client-1",)"
                  R"("exp":1700000600})"),
            Errc::kAudienceMismatch);
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":"client-10","exp":1700000600})"),
            Errc::kAudienceMismatch);
}

TEST_F(ClaimsPolicyTest, SeveralAudiencesNeedAzpNamingUs) {
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":["client-1","api"],"exp":1700000600})"),
            Errc::kAzpMismatch);
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":["client-1","api"],"azp":"client-1",)"
                  R"("exp":1700000600})"),
            Errc::kOk);
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":["client-1","api"],"azp":"api",)"
                  R"("exp":1700000600})"),
            Errc::kAzpMismatch);
}

TEST_F(ClaimsPolicyTest, AzpPresentMustBeUsEvenWithOneAudience) {
  EXPECT_EQ(Check(With(R"(,"azp":"someone-else")")), Errc::kAzpMismatch);
  EXPECT_EQ(Check(With(R"(,"azp":"client-1")")), Errc::kOk);
}

TEST_F(ClaimsPolicyTest, AzpIgnoredWithoutClientId) {
  policy_.client_id.reset();
  EXPECT_EQ(Check(With(R"(,"azp":"someone-else")")), Errc::kOk);
}

TEST_F(ClaimsPolicyTest, EmptyAudienceListAcceptsAny) {
  policy_.audiences.clear();
  policy_.client_id.reset();
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":"whoever","exp":1700000600})"), Errc::kOk);
}

TEST_F(ClaimsPolicyTest, ExpIsRequiredAndMustBeNumeric) {
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":"client-1"})"), Errc::kMissingClaim);
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":"client-1","exp":"1700000600"})"),
            Errc::kBadInput);
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":"client-1","exp":1700000600.5})"),
            Errc::kBadInput);
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":"client-1","exp":1700000600.0})"),
            Errc::kOk);
  policy_.require_exp = false;
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":"client-1"})"), Errc::kOk);
}

TEST_F(ClaimsPolicyTest, ExpiredAfterLeewayExactlyAtItsEdge) {
  std::string j = R"({"iss":"https://op.example","aud":"client-1","exp":1700000000})";
  EXPECT_EQ(Check(j, kNow), Errc::kOk);
  EXPECT_EQ(Check(j, kNow + 60), Errc::kOk);
  EXPECT_EQ(Check(j, kNow + 61), Errc::kExpired);
  policy_.leeway_seconds = 0;
  EXPECT_EQ(Check(j, kNow), Errc::kOk);
  EXPECT_EQ(Check(j, kNow + 1), Errc::kExpired);
}

TEST_F(ClaimsPolicyTest, NbfInTheFutureBeyondLeewayIsNotYetValid) {
  EXPECT_EQ(Check(With(R"(,"nbf":1700000060)")), Errc::kOk);
  EXPECT_EQ(Check(With(R"(,"nbf":1700000061)")), Errc::kNotYetValid);
}

TEST_F(ClaimsPolicyTest, IatInTheFutureBeyondLeewayIsNotYetValid) {
  std::string base = R"({"iss":"https://op.example","aud":"client-1","exp":1700000600,"iat":)";
  EXPECT_EQ(Check(base + "1700000060}"), Errc::kOk);
  EXPECT_EQ(Check(base + "1700000061}"), Errc::kNotYetValid);
}

TEST_F(ClaimsPolicyTest, IatRequiredWhenAsked) {
  policy_.require_iat = true;
  EXPECT_EQ(Check(R"({"iss":"https://op.example","aud":"client-1","exp":1700000600})"),
            Errc::kMissingClaim);
  EXPECT_EQ(Check(With("")), Errc::kOk);
}

TEST_F(ClaimsPolicyTest, NonceMustMatchWhenExpected) {
  policy_.nonce = "n-0S6_WzA2Mj";
  EXPECT_EQ(Check(With(R"(,"nonce":"n-0S6_WzA2Mj")")), Errc::kOk);
  EXPECT_EQ(Check(With(R"(,"nonce":"n-0S6_WzA2Mk")")), Errc::kNonceMismatch);
  EXPECT_EQ(Check(With(R"(,"nonce":"n-0S6_WzA2M")")), Errc::kNonceMismatch);
  EXPECT_EQ(Check(With("")), Errc::kNonceMismatch);
  EXPECT_EQ(Check(With(R"(,"nonce":123)")), Errc::kNonceMismatch);
}

TEST(AudienceList, TurnsStringOrArrayIntoList) {
  EXPECT_EQ(AudienceList(Claims(R"({"aud":"a"})")), std::vector<std::string>{"a"});
  EXPECT_EQ(AudienceList(Claims(R"({"aud":["a",1,"b"]})")), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(AudienceList(Claims(R"({})")).empty());
}

}  // namespace
}  // namespace coinpay
