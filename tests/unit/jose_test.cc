// JWS verification: RFC 7515 and RFC 8037 vectors, the algorithm allow-list, key selection by kid
// and type, and the classic forgeries (alg none, HS256 keyed with the RSA public key, tampering).
#include "core/jose.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "test_keys.h"

namespace coinpay {
namespace {

using testing::TestKey;

// RFC 7515 Appendix A.2: RS256 over the Appendix A.1 claims, and the RSA public key it uses
// (RFC 7515 A.2.1). Copied from the RFC's text.
constexpr char kRfc7515A2Jws[] =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5j"
    "ujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L0"
    "7Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUip"
    "UTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
constexpr char kRfc7515A2Jwks[] =
    R"({"keys":[{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-)"
    R"(Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7O)"
    R"(Mg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo)"
    R"(5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",)"
    R"("e":"AQAB"}]})";
// RFC 7515 Appendix A.3: ES256 over the same claims, with its P-256 public key.
constexpr char kRfc7515A3Jws[] =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
constexpr char kRfc7515A3Jwks[] =
    R"({"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})";

constexpr char kClaims[] = R"({"iss":"https://op.example","sub":"alice","aud":"client"})";
const std::vector<std::string> kAlgs = {"RS256", "ES256"};

std::shared_ptr<const Jwks> ParseOrDie(const std::string& json) {
  auto jwks = Jwks::Parse(json);
  if (!jwks.ok()) {
    ADD_FAILURE() << "JWKS does not parse: " << jwks.error().detail;
    return nullptr;
  }
  return *jwks;
}

TEST(Jose, VerifiesRfc7515AppendixA2Rs256Example) {
  auto jwks = ParseOrDie(kRfc7515A2Jwks);
  ASSERT_TRUE(jwks);
  auto jwt = VerifyJws(kRfc7515A2Jws, *jwks, {"RS256"});
  ASSERT_TRUE(jwt.ok()) << jwt.error().detail;
  EXPECT_EQ(jwt->claims.GetString("iss").value_or(""), "joe");
  EXPECT_EQ(jwt->claims.GetInt("exp").value_or(0), 1300819380);
  EXPECT_TRUE(jwt->claims.Get("http://example.com/is_root").AsBool());
  EXPECT_EQ(jwt->header.GetString("alg").value_or(""), "RS256");
}

TEST(Jose, RefusesRfc7515AppendixA2ExampleWithOneBitChanged) {
  auto jwks = ParseOrDie(kRfc7515A2Jwks);
  ASSERT_TRUE(jwks);
  EXPECT_EQ(VerifyJws(testing::TamperSignature(kRfc7515A2Jws), *jwks, {"RS256"}).code(),
            Errc::kBadSignature);
  auto swapped = testing::SwapPayload(kRfc7515A2Jws, R"({"iss":"joe","exp":9999999999})");
  EXPECT_EQ(VerifyJws(swapped, *jwks, {"RS256"}).code(), Errc::kBadSignature);
}

TEST(Jose, VerifiesRfc7515AppendixA3Es256Example) {
  auto jwks = ParseOrDie(kRfc7515A3Jwks);
  ASSERT_TRUE(jwks);
  auto jwt = VerifyJws(kRfc7515A3Jws, *jwks, {"ES256"});
  ASSERT_TRUE(jwt.ok()) << jwt.error().detail;
  EXPECT_EQ(jwt->claims.GetString("iss").value_or(""), "joe");
}

TEST(Jose, RefusesRfcExampleWhenItsAlgIsNotAllowed) {
  auto jwks = ParseOrDie(kRfc7515A2Jwks);
  ASSERT_TRUE(jwks);
  EXPECT_EQ(VerifyJws(kRfc7515A2Jws, *jwks, {"ES256"}).code(), Errc::kAlgNotAllowed);
}

class JoseTest : public ::testing::Test {
 protected:
  const TestKey& rsa_ = TestKey::Rsa("rsa-1");
  const TestKey& ec_ = TestKey::Ec("ec-1");
  std::shared_ptr<const Jwks> jwks_ = ParseOrDie(testing::MakeJwks({&rsa_, &ec_}));
};

TEST_F(JoseTest, VerifiesRs256TokenSignedAtTestTime) {
  ASSERT_TRUE(jwks_);
  EXPECT_EQ(jwks_->size(), 2u);
  auto jwt = VerifyJws(rsa_.SignJwt(kClaims), *jwks_, kAlgs);
  ASSERT_TRUE(jwt.ok()) << jwt.error().detail;
  EXPECT_EQ(jwt->claims.GetString("sub").value_or(""), "alice");
  EXPECT_EQ(jwt->header.GetString("kid").value_or(""), "rsa-1");
}

TEST_F(JoseTest, VerifiesEs256Token) {
  ASSERT_TRUE(jwks_);
  auto jwt = VerifyJws(ec_.SignJwt(kClaims), *jwks_, kAlgs);
  ASSERT_TRUE(jwt.ok()) << jwt.error().detail;
  EXPECT_EQ(jwt->claims.GetString("sub").value_or(""), "alice");
}

TEST_F(JoseTest, VerifiesTokenWithoutKidAgainstFittingKey) {
  ASSERT_TRUE(jwks_);
  auto jwt = VerifyJws(rsa_.SignRaw(R"({"alg":"RS256"})", kClaims), *jwks_, kAlgs);
  EXPECT_TRUE(jwt.ok()) << jwt.error().detail;
}

TEST_F(JoseTest, RefusesAlgNone) {
  ASSERT_TRUE(jwks_);
  EXPECT_EQ(VerifyJws(testing::ForgeAlgNone(kClaims, "rsa-1"), *jwks_, kAlgs).code(),
            Errc::kAlgNotAllowed);
  // Even an operator who lists "none" does not get it.
  EXPECT_EQ(VerifyJws(testing::ForgeAlgNone(kClaims), *jwks_, {"none", "RS256"}).code(),
            Errc::kAlgNotAllowed);
}

TEST_F(JoseTest, RefusesHs256KeyedWithTheRsaPublicKey) {
  ASSERT_TRUE(jwks_);
  auto forged = testing::ForgeHs256(kClaims, rsa_.PublicPem(), "rsa-1");
  EXPECT_EQ(VerifyJws(forged, *jwks_, kAlgs).code(), Errc::kAlgNotAllowed);
  EXPECT_EQ(VerifyJws(forged, *jwks_, {"HS256", "RS256"}).code(), Errc::kAlgNotAllowed);
}

TEST_F(JoseTest, RefusesHeaderWithoutAlg) {
  ASSERT_TRUE(jwks_);
  EXPECT_EQ(VerifyJws(rsa_.SignRaw(R"({"kid":"rsa-1"})", kClaims), *jwks_, kAlgs).code(),
            Errc::kAlgNotAllowed);
}

TEST_F(JoseTest, UnknownKidIsReportedAsSuch) {
  ASSERT_TRUE(jwks_);
  EXPECT_EQ(VerifyJws(rsa_.SignJwtWithKid(kClaims, "rotated-away"), *jwks_, kAlgs).code(),
            Errc::kUnknownKid);
}

TEST_F(JoseTest, TokenFromAnotherKeyWithKnownKidIsBadSignature) {
  ASSERT_TRUE(jwks_);
  auto stranger = TestKey::Generate(TestKey::Kind::kRsa, "rsa-1");
  EXPECT_EQ(VerifyJws(stranger->SignJwt(kClaims), *jwks_, kAlgs).code(), Errc::kBadSignature);
}

TEST_F(JoseTest, TamperedSignatureIsBadSignature) {
  ASSERT_TRUE(jwks_);
  EXPECT_EQ(VerifyJws(testing::TamperSignature(rsa_.SignJwt(kClaims)), *jwks_, kAlgs).code(),
            Errc::kBadSignature);
  EXPECT_EQ(VerifyJws(testing::TamperSignature(ec_.SignJwt(kClaims)), *jwks_, kAlgs).code(),
            Errc::kBadSignature);
}

TEST_F(JoseTest, SwappedPayloadIsBadSignature) {
  ASSERT_TRUE(jwks_);
  auto swapped = testing::SwapPayload(rsa_.SignJwt(kClaims), R"({"sub":"admin"})");
  EXPECT_EQ(VerifyJws(swapped, *jwks_, kAlgs).code(), Errc::kBadSignature);
}

TEST_F(JoseTest, RefusesRs256HeaderOnAnEcKeyKid) {
  ASSERT_TRUE(jwks_);
  // alg RS256 but kid of the EC key: no key of the right type has that kid.
  auto token = rsa_.SignJwtWithKid(kClaims, "ec-1");
  auto r = VerifyJws(token, *jwks_, kAlgs);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kUnknownKid);
}

TEST_F(JoseTest, RefusesAlgThatDiffersFromTheKeysAlg) {
  // The JWK says RS256; a PS256 token under the same kid must not be tried with it.
  auto jwks = ParseOrDie(testing::MakeJwks({&rsa_}));
  ASSERT_TRUE(jwks);
  std::string header = R"({"alg":"PS256","kid":"rsa-1"})";
  auto token = rsa_.SignRaw(header, kClaims);  // (RS256 bytes under a PS256 header)
  EXPECT_FALSE(VerifyJws(token, *jwks, {"PS256"}).ok());
}

TEST_F(JoseTest, RefusesJweFivePartToken) {
  ASSERT_TRUE(jwks_);
  std::string jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d";
  EXPECT_EQ(VerifyJws(jwe, *jwks_, kAlgs).code(), Errc::kBadInput);
}

TEST_F(JoseTest, RefusesMalformedCompactForms) {
  ASSERT_TRUE(jwks_);
  for (const char* bad : {"", ".", "..", "a.b", "a.b.c", "!!!.e30.sig", "e30.e30.",
                          "eyJhbGciOiJSUzI1NiJ9..", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA.x"}) {
    EXPECT_FALSE(VerifyJws(bad, *jwks_, kAlgs).ok()) << bad;
  }
}

TEST_F(JoseTest, RefusesCritHeader) {
  ASSERT_TRUE(jwks_);
  auto token = rsa_.SignRaw(R"({"alg":"RS256","kid":"rsa-1","crit":["exp"],"exp":1})", kClaims);
  EXPECT_EQ(VerifyJws(token, *jwks_, kAlgs).code(), Errc::kBadInput);
}

TEST_F(JoseTest, RefusesSignedPayloadThatIsNotAnObject) {
  ASSERT_TRUE(jwks_);
  EXPECT_EQ(VerifyJws(rsa_.SignJwt("[1,2]"), *jwks_, kAlgs).code(), Errc::kBadJson);
  EXPECT_EQ(VerifyJws(rsa_.SignJwt("not json"), *jwks_, kAlgs).code(), Errc::kBadJson);
}

TEST_F(JoseTest, RefusesPayloadWithDuplicateClaims) {
  ASSERT_TRUE(jwks_);
  auto token = rsa_.SignJwt(R"({"sub":"alice","sub":"admin"})");
  EXPECT_FALSE(VerifyJws(token, *jwks_, kAlgs).ok());
}

TEST(Jwks, IgnoresSymmetricOctKeys) {
  const TestKey& rsa = TestKey::Rsa("rsa-1");
  std::string oct = R"({"kty":"oct","kid":"hmac","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ"})";
  auto jwks = ParseOrDie(testing::MakeJwks({&rsa}, {oct}));
  ASSERT_TRUE(jwks);
  EXPECT_EQ(jwks->size(), 1u);
  EXPECT_FALSE(jwks->HasKid("hmac"));
  auto forged = testing::ForgeHs256(R"({"sub":"admin"})", "secret-secret-secret-secret!", "hmac");
  EXPECT_EQ(VerifyJws(forged, *jwks, {"HS256", "RS256"}).code(), Errc::kAlgNotAllowed);
}

TEST(Jwks, SkipsEncryptionKeysAndBrokenKeysButKeepsTheRest) {
  const TestKey& rsa = TestKey::Rsa("rsa-1");
  std::string enc = R"({"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"})";
  std::string broken = R"({"kty":"EC","kid":"broken","crv":"P-256","x":"AA","y":"AA"})";
  auto jwks = ParseOrDie(testing::MakeJwks({&rsa}, {enc, broken, "42"}));
  ASSERT_TRUE(jwks);
  EXPECT_EQ(jwks->size(), 1u);
  EXPECT_TRUE(jwks->HasKid("rsa-1"));
  EXPECT_FALSE(jwks->HasKid("enc"));
}

TEST(Jwks, RefusesDocumentsWithoutKeysArray) {
  EXPECT_EQ(Jwks::Parse("").code(), Errc::kBadJson);
  EXPECT_EQ(Jwks::Parse("[]").code(), Errc::kBadJson);
  EXPECT_EQ(Jwks::Parse(R"({"keys":{}})").code(), Errc::kBadJson);
  EXPECT_TRUE(Jwks::Parse(R"({"keys":[]})").ok());
}

TEST(PeekKid, ReadsKidWithoutVerifying) {
  const TestKey& rsa = TestKey::Rsa("rsa-1");
  EXPECT_EQ(PeekKid(rsa.SignJwt("{}")), "rsa-1");
  EXPECT_EQ(PeekKid(testing::ForgeAlgNone("{}", "x")), "x");
  EXPECT_EQ(PeekKid("garbage"), "");
  EXPECT_EQ(PeekKid("!!.a.b"), "");
  EXPECT_EQ(PeekKid(""), "");
}

// RFC 8037 Appendix A: the A.2 public JWK (of the A.1 key) and the A.4 JWS, whose payload is the
// text "Example of Ed25519 signing" (not JSON). Copied from the RFC's text.
constexpr char kRfc8037A2Jwks[] =
    R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})";
constexpr char kRfc8037A4Jws[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
// The A.1 private key's "d" (the Ed25519 seed) as bytes.
constexpr unsigned char kRfc8037A1Seed[] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
const std::vector<std::string> kEdAlgs = {"EdDSA", "RS256"};

std::string OkpJwk(std::string_view crv, std::string_view x, std::string_view kid,
                   std::string_view extra = "") {
  return R"({"kty":"OKP","crv":")" + std::string(crv) + R"(","x":")" + std::string(x) +
         R"(","kid":")" + std::string(kid) + "\"" + std::string(extra) + "}";
}

TEST(JoseEdDsa, Rfc8037AppendixA4SignatureVerifies) {
  auto jwks = ParseOrDie(kRfc8037A2Jwks);
  ASSERT_TRUE(jwks);
  EXPECT_EQ(jwks->size(), 1u);
  // The signature checks out; only then is the payload read, and that one is not a JSON object.
  auto r = VerifyJws(kRfc8037A4Jws, *jwks, {"EdDSA"});
  EXPECT_EQ(r.code(), Errc::kBadJson) << (r.ok() ? "" : r.error().detail);
  EXPECT_EQ(VerifyJws(testing::TamperSignature(kRfc8037A4Jws), *jwks, {"EdDSA"}).code(),
            Errc::kBadSignature);
  EXPECT_EQ(
      VerifyJws(testing::SwapPayload(kRfc8037A4Jws, R"({"sub":"admin"})"), *jwks, {"EdDSA"}).code(),
      Errc::kBadSignature);
}

TEST(JoseEdDsa, TokenSignedWithTheRfc8037KeyVerifiesAgainstItsJwk) {
  auto jwks = ParseOrDie(kRfc8037A2Jwks);
  ASSERT_TRUE(jwks);
  auto key = TestKey::Ed25519FromSeed(
      std::string_view(reinterpret_cast<const char*>(kRfc8037A1Seed), sizeof(kRfc8037A1Seed)), "");
  // The RFC's own signature comes out of this seed: Ed25519 is deterministic.
  EXPECT_EQ(key->SignRaw(R"({"alg":"EdDSA"})", "Example of Ed25519 signing"), kRfc8037A4Jws);
  auto jwt = VerifyJws(key->SignRaw(R"({"alg":"EdDSA"})", kClaims), *jwks, {"EdDSA"});
  ASSERT_TRUE(jwt.ok()) << jwt.error().detail;
  EXPECT_EQ(jwt->claims.GetString("sub").value_or(""), "alice");
}

class JoseEdDsaTest : public ::testing::Test {
 protected:
  const TestKey& rsa_ = TestKey::Rsa("rsa-1");
  const TestKey& ec_ = TestKey::Ec("ec-1");
  const TestKey& ed_ = TestKey::Ed25519("ed-1");
  std::shared_ptr<const Jwks> jwks_ = ParseOrDie(testing::MakeJwks({&rsa_, &ec_, &ed_}));
};

TEST_F(JoseEdDsaTest, VerifiesTokenSignedWithGeneratedKey) {
  ASSERT_TRUE(jwks_);
  EXPECT_EQ(jwks_->size(), 3u);
  EXPECT_TRUE(jwks_->HasKid("ed-1"));
  auto jwt = VerifyJws(ed_.SignJwt(kClaims), *jwks_, kEdAlgs);
  ASSERT_TRUE(jwt.ok()) << jwt.error().detail;
  EXPECT_EQ(jwt->claims.GetString("sub").value_or(""), "alice");
  EXPECT_EQ(jwt->header.GetString("alg").value_or(""), "EdDSA");
  EXPECT_EQ(jwt->header.GetString("kid").value_or(""), "ed-1");
}

TEST_F(JoseEdDsaTest, VerifiesTokenWithoutKidAgainstTheOkpKey) {
  ASSERT_TRUE(jwks_);
  auto jwt = VerifyJws(ed_.SignRaw(R"({"alg":"EdDSA"})", kClaims), *jwks_, kEdAlgs);
  EXPECT_TRUE(jwt.ok()) << jwt.error().detail;
}

TEST_F(JoseEdDsaTest, RsaAndEcTokensStillVerifyBesideAnOkpKey) {
  ASSERT_TRUE(jwks_);
  EXPECT_TRUE(VerifyJws(rsa_.SignJwt(kClaims), *jwks_, {"RS256", "EdDSA"}).ok());
  EXPECT_TRUE(VerifyJws(ec_.SignJwt(kClaims), *jwks_, {"ES256", "EdDSA"}).ok());
}

TEST_F(JoseEdDsaTest, TamperedSignatureOrPayloadIsBadSignature) {
  ASSERT_TRUE(jwks_);
  std::string token = ed_.SignJwt(kClaims);
  EXPECT_EQ(VerifyJws(testing::TamperSignature(token), *jwks_, kEdAlgs).code(),
            Errc::kBadSignature);
  EXPECT_EQ(VerifyJws(testing::SwapPayload(token, R"({"sub":"admin"})"), *jwks_, kEdAlgs).code(),
            Errc::kBadSignature);
  // A header changed after signing is part of the signing input too.
  std::string other_header = ed_.SignRaw(R"({"alg":"EdDSA","kid":"ed-1","typ":"at+jwt"})", kClaims);
  std::string spliced =
      other_header.substr(0, other_header.find('.')) + token.substr(token.find('.'));
  EXPECT_EQ(VerifyJws(spliced, *jwks_, kEdAlgs).code(), Errc::kBadSignature);
}

TEST_F(JoseEdDsaTest, TruncatedOrEmptySignatureIsBadSignature) {
  ASSERT_TRUE(jwks_);
  std::string token = ed_.SignJwt(kClaims);
  std::string unsigned_token = token.substr(0, token.rfind('.') + 1);
  EXPECT_EQ(VerifyJws(unsigned_token, *jwks_, kEdAlgs).code(), Errc::kBadSignature);
  EXPECT_EQ(VerifyJws(unsigned_token + "AAAA", *jwks_, kEdAlgs).code(), Errc::kBadSignature);
  EXPECT_EQ(VerifyJws(token + "AAAA", *jwks_, kEdAlgs).code(), Errc::kBadSignature);
}

TEST_F(JoseEdDsaTest, TokenFromAnotherKeyWithKnownKidIsBadSignature) {
  ASSERT_TRUE(jwks_);
  auto stranger = TestKey::Generate(TestKey::Kind::kEd25519, "ed-1");
  EXPECT_EQ(VerifyJws(stranger->SignJwt(kClaims), *jwks_, kEdAlgs).code(), Errc::kBadSignature);
}

TEST_F(JoseEdDsaTest, RefusedWhenEdDsaIsNotInTheAllowList) {
  ASSERT_TRUE(jwks_);
  EXPECT_EQ(VerifyJws(ed_.SignJwt(kClaims), *jwks_, {"RS256", "ES256"}).code(),
            Errc::kAlgNotAllowed);
  EXPECT_EQ(VerifyJws(kRfc8037A4Jws, *ParseOrDie(kRfc8037A2Jwks), {"RS256"}).code(),
            Errc::kAlgNotAllowed);
}

TEST_F(JoseEdDsaTest, Rs256TokenNamingAnOkpKeyIsRefused) {
  ASSERT_TRUE(jwks_);
  // alg RS256 under the Ed25519 key's kid: the OKP key is never tried for RS*, PS* or ES*.
  auto token = rsa_.SignJwtWithKid(kClaims, "ed-1");
  EXPECT_EQ(VerifyJws(token, *jwks_, kEdAlgs).code(), Errc::kUnknownKid);
  EXPECT_EQ(VerifyJws(ec_.SignJwtWithKid(kClaims, "ed-1"), *jwks_, {"ES256"}).code(),
            Errc::kUnknownKid);
  std::string ps = rsa_.SignRaw(R"({"alg":"PS256","kid":"ed-1"})", kClaims);
  EXPECT_EQ(VerifyJws(ps, *jwks_, {"PS256"}).code(), Errc::kUnknownKid);
}

TEST_F(JoseEdDsaTest, EdDsaTokenNamingAnRsaOrEcKeyIsRefused) {
  ASSERT_TRUE(jwks_);
  EXPECT_EQ(VerifyJws(ed_.SignJwtWithKid(kClaims, "rsa-1"), *jwks_, kEdAlgs).code(),
            Errc::kUnknownKid);
  EXPECT_EQ(VerifyJws(ed_.SignJwtWithKid(kClaims, "ec-1"), *jwks_, kEdAlgs).code(),
            Errc::kUnknownKid);
  // With only RSA and EC keys published, an EdDSA token without kid has no key at all.
  auto no_okp = ParseOrDie(testing::MakeJwks({&rsa_, &ec_}));
  ASSERT_TRUE(no_okp);
  EXPECT_EQ(VerifyJws(ed_.SignRaw(R"({"alg":"EdDSA"})", kClaims), *no_okp, kEdAlgs).code(),
            Errc::kUnknownKid);
}

TEST_F(JoseEdDsaTest, KeyAlgMustMatchTheTokensAlg) {
  std::string x = Json::Parse(ed_.PublicJwk())->GetString("x").value_or("");
  ASSERT_FALSE(x.empty());
  auto ok = ParseOrDie(testing::MakeJwks({}, {OkpJwk("Ed25519", x, "ed-1", R"(,"alg":"EdDSA")")}));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(VerifyJws(ed_.SignJwt(kClaims), *ok, kEdAlgs).ok());
  // A JWK that says RS256 is not used for an EdDSA token, though the key would verify it.
  auto mislabeled =
      ParseOrDie(testing::MakeJwks({}, {OkpJwk("Ed25519", x, "ed-1", R"(,"alg":"RS256")")}));
  ASSERT_TRUE(mislabeled);
  EXPECT_EQ(VerifyJws(ed_.SignJwt(kClaims), *mislabeled, kEdAlgs).code(), Errc::kUnknownKid);
}

TEST(JwksOkp, ImportsEd25519PublicKeysOnly) {
  const std::string x32 = testing::B64Url(std::string(32, '\x11'));
  const std::string rfc_x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
  auto jwks = ParseOrDie(testing::MakeJwks(
      {}, {
              OkpJwk("Ed25519", rfc_x, "good"),
              OkpJwk("Ed25519", testing::B64Url(std::string(31, '\x11')), "short"),
              OkpJwk("Ed25519", testing::B64Url(std::string(33, '\x11')), "long"),
              OkpJwk("Ed25519", "", "empty"),
              OkpJwk("Ed448", testing::B64Url(std::string(57, '\x11')), "ed448"),
              OkpJwk("Ed448", x32, "ed448-short"),
              OkpJwk("X25519", x32, "x25519"),
              OkpJwk("ed25519", rfc_x, "lowercase-crv"),
              OkpJwk("Ed25519", rfc_x + "=", "padded"),
              OkpJwk("Ed25519", rfc_x, "enc", R"(,"use":"enc")"),
              R"({"kty":"OKP","kid":"no-crv","x":")" + rfc_x + R"("})",
              R"({"kty":"OKP","crv":"Ed25519","kid":"no-x"})",
              R"({"kty":"OKP","crv":"Ed25519","kid":"x-number","x":42})",
              R"({"kty":"OKP","crv":["Ed25519"],"kid":"crv-array","x":")" + rfc_x + R"("})",
          }));
  ASSERT_TRUE(jwks);
  EXPECT_EQ(jwks->size(), 1u);
  EXPECT_TRUE(jwks->HasKid("good"));
}

TEST(JwksOkp, PrivateMemberIsIgnoredAndThePublicKeyUsed) {
  // A provider that wrongly publishes "d" still gets its public key used, never the secret.
  auto jwks = ParseOrDie(
      testing::MakeJwks({}, {OkpJwk("Ed25519", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "",
                                    R"(,"d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")")}));
  ASSERT_TRUE(jwks);
  EXPECT_EQ(jwks->size(), 1u);
  EXPECT_EQ(VerifyJws(kRfc8037A4Jws, *jwks, {"EdDSA"}).code(), Errc::kBadJson);
}

TEST(JoseEdDsaDeathTest, MalformedEdDsaSignatureIsRefusedNotACrash) {
  auto jwks = ParseOrDie(kRfc8037A2Jwks);
  ASSERT_TRUE(jwks);
  EXPECT_EXIT(
      {
        auto r = VerifyJws("eyJhbGciOiJFZERTQSJ9.e30.A=AAAAAA", *jwks, {"EdDSA"});
        std::exit(r.ok() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(IsSupportedAlgorithm, ListsOnlyAsymmetricAlgorithms) {
  for (const char* a : {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA"}) {
    EXPECT_TRUE(IsSupportedAlgorithm(a)) << a;
  }
  for (const char* a :
       {"none", "None", "HS256", "HS512", "rs256", "", "eddsa", "Ed25519", "Ed448", "ES256K"}) {
    EXPECT_FALSE(IsSupportedAlgorithm(a)) << a;
  }
}

// cjose's base64url decoder asserts (aborts the process) on a '=' in the second position of a
// quad. A bearer token is attacker-controlled, so this must be refused before cjose sees it.
// Run in a child process so a crash fails this test instead of killing the suite.
TEST(JoseDeathTest, SignatureWithMisplacedPaddingIsRefusedNotACrash) {
  auto jwks = ParseOrDie(kRfc7515A3Jwks);
  ASSERT_TRUE(jwks);
  EXPECT_EXIT(
      {
        auto r = VerifyJws("eyJhbGciOiJFUzI1NiJ9.e30.A=AAAAAA", *jwks, {"ES256"});
        std::exit(r.ok() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(JoseDeathTest, PayloadWithMisplacedPaddingIsRefusedNotACrash) {
  auto jwks = ParseOrDie(kRfc7515A3Jwks);
  ASSERT_TRUE(jwks);
  EXPECT_EXIT(
      {
        auto r = VerifyJws("eyJhbGciOiJFUzI1NiJ9.A=AAAAAA.AAAA", *jwks, {"ES256"});
        std::exit(r.ok() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(JwksDeathTest, KeyWithMisplacedPaddingIsSkippedNotACrash) {
  EXPECT_EXIT(
      {
        auto r = Jwks::Parse(R"({"keys":[{"kty":"RSA","kid":"k","n":"A=AAAAAA","e":"AQAB"}]})");
        std::exit(r.ok() && (*r)->size() == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace coinpay
