// SigningKey: PEM loading and its refusals, JWS signing that the module's own verifier accepts
// (RS256, PS256, ES256 as raw R||S, ES384), public and private JWKs, RFC 7638 thumbprints.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "core/encoding.h"
#include "core/jose.h"
#include "core/json.h"

namespace coinpay {
namespace {

// Test-side key generation with OpenSSL directly, so the inputs do not come from the code under
// test.
using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Pkey GenerateRsa(unsigned bits) {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)), EVP_PKEY_free);
}
Pkey GenerateEc(const char* curve) {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve), EVP_PKEY_free);
}

enum class PemForm { kPkcs8, kTraditional, kEncrypted, kPublic };

std::string Pem(EVP_PKEY* pkey, PemForm form) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  int ok = 0;
  switch (form) {
    case PemForm::kPkcs8:
      ok = PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr);
      break;
    case PemForm::kTraditional:
      ok = PEM_write_bio_PrivateKey_traditional(bio.get(), pkey, nullptr, nullptr, 0, nullptr,
                                                nullptr);
      break;
    case PemForm::kEncrypted: {
      static char pass[] = "secret";
      ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey, EVP_aes_256_cbc(), pass, 6, nullptr,
                                         nullptr);
      break;
    }
    case PemForm::kPublic:
      ok = PEM_write_bio_PUBKEY(bio.get(), pkey);
      break;
  }
  if (ok != 1) {
    throw std::runtime_error("PEM write failed");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// One RSA-2048 key for the whole file: generating it is slow.
const std::string& RsaPem() {
  static const std::string pem = Pem(GenerateRsa(2048).get(), PemForm::kPkcs8);
  return pem;
}

std::shared_ptr<const SigningKey> Load(std::string_view pem, std::string_view kid = "",
                                       std::string_view alg = "") {
  auto key = SigningKey::FromPem(pem, kid, alg);
  if (!key) {
    throw std::runtime_error("FromPem: " + key.error().detail);
  }
  return *key;
}

Json Claims() {
  Json claims = Json::Object();
  claims.Set("iss", Json::String("client-1"));
  claims.Set("jti", Json::String("abc"));
  claims.Set("exp", Json::Integer(1700000060));
  return claims;
}

// Verifies with the module's own VerifyJws against a JWKS made of the key's public JWK.
Result<VerifiedJwt> VerifyWithPublicJwk(const SigningKey& key, std::string_view jws) {
  auto jwks = Jwks::Parse(R"({"keys":[)" + key.PublicJwkJson() + "]}");
  if (!jwks) {
    return jwks.error();
  }
  return VerifyJws(jws, **jwks, {key.alg()});
}

Json HeaderOf(std::string_view jws) {
  auto bytes = Base64UrlDecode(jws.substr(0, jws.find('.')));
  auto header = bytes ? Json::Parse(*bytes) : Result<Json>(Errc::kBadInput);
  return header ? *header : Json();
}

TEST(SigningKey, Rs256SignatureVerifiesWithItsPublishedKey) {
  auto key = Load(RsaPem(), "rsa-1");
  EXPECT_EQ(key->alg(), "RS256");
  EXPECT_EQ(key->kid(), "rsa-1");
  auto jws = key->SignJwt(Claims(), "JWT", /*with_kid=*/true);
  ASSERT_TRUE(jws) << jws.error().detail;
  auto verified = VerifyWithPublicJwk(*key, *jws);
  ASSERT_TRUE(verified) << verified.error().detail;
  EXPECT_EQ(verified->claims.GetString("iss").value_or(""), "client-1");
  EXPECT_EQ(verified->header.GetString("typ").value_or(""), "JWT");
  EXPECT_EQ(verified->header.GetString("kid").value_or(""), "rsa-1");
}

TEST(SigningKey, Ps256IsAllowedForRsaKeysAndVerifies) {
  auto key = Load(RsaPem(), "rsa-pss", "PS256");
  EXPECT_EQ(key->alg(), "PS256");
  auto jws = key->SignJwt(Claims(), "JWT", true);
  ASSERT_TRUE(jws);
  EXPECT_TRUE(VerifyWithPublicJwk(*key, *jws));
  // The same key published as RS256 does not accept a PSS signature.
  auto jwks = Jwks::Parse(R"({"keys":[)" + Load(RsaPem(), "rsa-pss")->PublicJwkJson() + "]}");
  ASSERT_TRUE(jwks);
  EXPECT_FALSE(VerifyJws(*jws, **jwks, {"RS256"}));
}

TEST(SigningKey, Es256SignatureIsRawRAndSOf64BytesAndVerifies) {
  auto key = Load(Pem(GenerateEc("P-256").get(), PemForm::kTraditional), "ec-1");
  EXPECT_EQ(key->alg(), "ES256");
  for (int i = 0; i < 20; ++i) {  // DER lengths vary with leading zeros; raw never does
    auto jws = key->SignJwt(Claims(), "JWT", true);
    ASSERT_TRUE(jws);
    auto sig = Base64UrlDecode(jws->substr(jws->rfind('.') + 1));
    ASSERT_TRUE(sig);
    EXPECT_EQ(sig->size(), 64u);
    auto verified = VerifyWithPublicJwk(*key, *jws);
    ASSERT_TRUE(verified) << verified.error().detail;
  }
}

TEST(SigningKey, Es384KeysSignWithEs384) {
  auto key = Load(Pem(GenerateEc("P-384").get(), PemForm::kPkcs8));
  EXPECT_EQ(key->alg(), "ES384");
  auto jws = key->SignJwt(Claims(), "JWT", true);
  ASSERT_TRUE(jws);
  EXPECT_EQ(Base64UrlDecode(jws->substr(jws->rfind('.') + 1))->size(), 96u);
  EXPECT_TRUE(VerifyWithPublicJwk(*key, *jws));
}

TEST(SigningKey, TraditionalAndPkcs8PemGiveTheSameKey) {
  Pkey rsa = GenerateRsa(2048);
  auto a = Load(Pem(rsa.get(), PemForm::kPkcs8));
  auto b = Load(Pem(rsa.get(), PemForm::kTraditional));
  EXPECT_EQ(a->Thumbprint(), b->Thumbprint());
  EXPECT_EQ(a->PublicJwkJson(), b->PublicJwkJson());
}

TEST(SigningKey, RsaKeysUnder2048BitsAreRefusedAsTooWeak) {
  auto key = SigningKey::FromPem(Pem(GenerateRsa(1024).get(), PemForm::kPkcs8), "");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.code(), Errc::kConfig);
  EXPECT_NE(key.error().detail.find("1024 bits"), std::string::npos);
  EXPECT_NE(key.error().detail.find("at least 2048"), std::string::npos);
}

TEST(SigningKey, WhatIsNotAnUnencryptedRsaOrEcPrivateKeyIsRefused) {
  Pkey ec = GenerateEc("P-256");
  EXPECT_EQ(SigningKey::FromPem(Pem(ec.get(), PemForm::kPublic), "").code(), Errc::kConfig);
  auto encrypted = SigningKey::FromPem(Pem(ec.get(), PemForm::kEncrypted), "");
  ASSERT_FALSE(encrypted);
  EXPECT_NE(encrypted.error().detail.find("encrypted"), std::string::npos);
  EXPECT_FALSE(SigningKey::FromPem("not a pem", ""));
  EXPECT_FALSE(SigningKey::FromPem("", ""));
  Pkey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  auto ed_key = SigningKey::FromPem(Pem(ed.get(), PemForm::kPkcs8), "");
  ASSERT_FALSE(ed_key);
  EXPECT_NE(ed_key.error().detail.find("neither RSA nor EC"), std::string::npos);
  Pkey k1 = GenerateEc("secp256k1");
  EXPECT_FALSE(SigningKey::FromPem(Pem(k1.get(), PemForm::kPkcs8), ""));
}

TEST(SigningKey, AnAlgThatDoesNotFitTheKeyIsRefused) {
  EXPECT_FALSE(SigningKey::FromPem(RsaPem(), "", "ES256"));
  EXPECT_FALSE(SigningKey::FromPem(RsaPem(), "", "HS256"));
  EXPECT_FALSE(SigningKey::FromPem(RsaPem(), "", "none"));
  std::string ec = Pem(GenerateEc("P-256").get(), PemForm::kPkcs8);
  EXPECT_FALSE(SigningKey::FromPem(ec, "", "RS256"));
  EXPECT_FALSE(SigningKey::FromPem(ec, "", "ES384"));
  EXPECT_TRUE(SigningKey::FromPem(ec, "", "ES256"));
}

TEST(SigningKey, AnEmptyKidBecomesTheThumbprint) {
  auto key = Load(RsaPem());
  EXPECT_EQ(key->kid(), key->Thumbprint());
  EXPECT_EQ(key->Thumbprint().size(), 43u);  // 32 bytes, base64url without padding
}

TEST(SigningKey, PublicJwkHasThePublicMembersAndNoPrivateOnes) {
  for (const auto& pem : {RsaPem(), Pem(GenerateEc("P-256").get(), PemForm::kPkcs8)}) {
    auto key = Load(pem, "k");
    auto jwk = Json::Parse(key->PublicJwkJson());
    ASSERT_TRUE(jwk);
    for (const char* secret : {"d", "p", "q", "dp", "dq", "qi"}) {
      EXPECT_TRUE(jwk->Get(secret).IsNull()) << secret;
    }
    EXPECT_EQ(jwk->GetString("use").value_or(""), "sig");
    EXPECT_EQ(jwk->GetString("kid").value_or(""), "k");
    EXPECT_EQ(jwk->GetString("alg").value_or(""), key->alg());
    if (jwk->GetString("kty") == "RSA") {
      EXPECT_EQ(jwk->GetString("e").value_or(""), "AQAB");
      EXPECT_EQ(Base64UrlDecode(jwk->GetString("n").value_or(""))->size(), 256u);
    } else {
      EXPECT_EQ(jwk->GetString("crv").value_or(""), "P-256");
      EXPECT_EQ(Base64UrlDecode(jwk->GetString("x").value_or(""))->size(), 32u);
      EXPECT_EQ(Base64UrlDecode(jwk->GetString("y").value_or(""))->size(), 32u);
    }
    // The private JWK does carry "d"; the public text must not contain it anywhere.
    auto priv = Json::Parse(key->PrivateJwkJson());
    ASSERT_TRUE(priv);
    std::string d = priv->GetString("d").value_or("");
    ASSERT_FALSE(d.empty());
    EXPECT_EQ(key->PublicJwkJson().find(d), std::string::npos);
  }
}

TEST(SigningKey, ThumbprintMatchesTheJwkThumbprintOfItsPublicJwk) {
  for (const auto& pem : {RsaPem(), Pem(GenerateEc("P-256").get(), PemForm::kPkcs8)}) {
    auto key = Load(pem, "some-kid");
    auto t = JwkThumbprint(key->PublicJwkJson());
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, key->Thumbprint());
  }
}

// RFC 7638 section 3.1: the example RSA key and its thumbprint.
TEST(JwkThumbprint, MatchesRfc7638Example) {
  constexpr char kJwk[] =
      R"({"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aP)"
      R"(FFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-)"
      R"(65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTW)"
      R"(hAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",)"
      R"("e":"AQAB","alg":"RS256","kid":"2011-04-29"})";
  auto t = JwkThumbprint(kJwk);
  ASSERT_TRUE(t) << t.error().detail;
  EXPECT_EQ(*t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

// RFC 8037 appendix A.3: the Ed25519 public key's thumbprint.
TEST(JwkThumbprint, MatchesRfc8037OkpExample) {
  auto t = JwkThumbprint(
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

TEST(JwkThumbprint, RefusesPrivateMembersAndMalformedKeys) {
  auto key = Load(Pem(GenerateEc("P-256").get(), PemForm::kPkcs8));
  EXPECT_FALSE(JwkThumbprint(key->PrivateJwkJson()));
  EXPECT_FALSE(JwkThumbprint(R"({"kty":"oct","k":"c2VjcmV0"})"));
  EXPECT_FALSE(JwkThumbprint(R"({"kty":"EC","crv":"P-256","x":"AAAA"})"));  // no y
  EXPECT_FALSE(JwkThumbprint(R"({"kty":"RSA","n":"a\"b","e":"AQAB"})"));
  EXPECT_FALSE(JwkThumbprint(R"({"kty":"RSA","n":1,"e":"AQAB"})"));
  EXPECT_FALSE(JwkThumbprint("[]"));
  EXPECT_FALSE(JwkThumbprint("not json"));
}

TEST(SigningKey, GeneratedEs256KeysAreFreshAndVerify) {
  auto a = SigningKey::GenerateEs256();
  auto b = SigningKey::GenerateEs256();
  ASSERT_TRUE(a && b);
  EXPECT_NE((*a)->Thumbprint(), (*b)->Thumbprint());
  EXPECT_EQ((*a)->alg(), "ES256");
  auto jws = (*a)->SignJwt(Claims(), "dpop+jwt", /*with_kid=*/false, /*embed_jwk=*/true);
  ASSERT_TRUE(jws);
  EXPECT_TRUE(VerifyWithPublicJwk(**a, *jws));
}

TEST(SigningKey, EmbeddedJwkIsThePublicKeyAndHasTheKeysThumbprint) {
  auto key = *SigningKey::GenerateEs256();
  auto jws = key->SignJwt(Claims(), "dpop+jwt", false, true);
  ASSERT_TRUE(jws);
  Json header = HeaderOf(*jws);
  EXPECT_EQ(header.GetString("typ").value_or(""), "dpop+jwt");
  EXPECT_TRUE(header.Get("kid").IsNull());
  Json jwk = header.Get("jwk");
  ASSERT_TRUE(jwk.IsObject());
  EXPECT_TRUE(jwk.Get("d").IsNull());
  auto t = JwkThumbprint(jwk.Dump());
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, key->Thumbprint());
  // And the proof verifies with the embedded key itself.
  auto jwks = Jwks::Parse(R"({"keys":[)" + jwk.Dump() + "]}");
  ASSERT_TRUE(jwks);
  EXPECT_TRUE(VerifyJws(*jws, **jwks, {"ES256"}));
}

TEST(SigningKey, EmptyTypLeavesTypOutOfTheHeader) {
  auto key = Load(RsaPem());
  auto jws = key->SignJwt(Claims(), "", false);
  ASSERT_TRUE(jws);
  Json header = HeaderOf(*jws);
  EXPECT_TRUE(header.Get("typ").IsNull());
  EXPECT_TRUE(header.Get("kid").IsNull());
  EXPECT_EQ(header.GetString("alg").value_or(""), "RS256");
}

TEST(SigningKey, ClaimsThatAreNotAnObjectAreRefused) {
  auto key = Load(RsaPem());
  EXPECT_FALSE(key->SignJwt(Json::String("x"), "JWT", true));
}

TEST(SigningKey, PrivateJwkRestoresTheSameKey) {
  for (auto original : {*SigningKey::GenerateEs256(), Load(RsaPem(), "r", "PS256")}) {
    auto restored = SigningKey::FromPrivateJwk(original->PrivateJwkJson());
    ASSERT_TRUE(restored) << restored.error().detail;
    EXPECT_EQ((*restored)->Thumbprint(), original->Thumbprint());
    EXPECT_EQ((*restored)->kid(), original->kid());
    EXPECT_EQ((*restored)->alg(), original->alg());
    // Signed by the restored key, verified with the original's published key.
    auto jws = (*restored)->SignJwt(Claims(), "JWT", true);
    ASSERT_TRUE(jws);
    EXPECT_TRUE(VerifyWithPublicJwk(*original, *jws));
  }
}

TEST(SigningKey, PrivateJwkWithMismatchedHalvesIsRefused) {
  auto a = Json::Parse((*SigningKey::GenerateEs256())->PrivateJwkJson());
  auto b = Json::Parse((*SigningKey::GenerateEs256())->PrivateJwkJson());
  ASSERT_TRUE(a && b);
  Json mixed = Json::Object();
  for (const char* m : {"kty", "crv", "x", "y"}) {
    mixed.Set(m, a->Get(m));
  }
  mixed.Set("d", b->Get("d"));
  EXPECT_FALSE(SigningKey::FromPrivateJwk(mixed.Dump()));
  EXPECT_FALSE(SigningKey::FromPrivateJwk(R"({"kty":"EC","crv":"P-256","x":"AA","y":"AA"})"));
  EXPECT_FALSE(SigningKey::FromPrivateJwk(R"({"kty":"oct","k":"AA"})"));
  EXPECT_FALSE(SigningKey::FromPrivateJwk("{"));
}

}  // namespace
}  // namespace coinpay
