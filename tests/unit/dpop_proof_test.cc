// DPoP proofs (RFC 9449 section 4.3) as the resource side checks them: one test per rule, each
// with a proof that breaks only that rule, so a refusal proves the rule and nothing else.
#include "core/dpop_proof.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/json.h"
#include "fakes.h"
#include "test_keys.h"

namespace coinpay {
namespace {

using testing::B64Url;
using testing::TestKey;

constexpr int64_t kNow = 1'700'000'000;
constexpr char kHtu[] = "https://api.example/v1/payments";
constexpr char kToken[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl";

// The public members of a TestKey's JWK (no kid, alg, use), as a proof's header carries them.
std::string ProofJwk(const TestKey& key) {
  auto full = Json::Parse(key.PublicJwk());
  Json out = Json::Object();
  for (const std::string& k : full->Keys()) {
    if (k != "kid" && k != "alg" && k != "use") {
      out.Set(k, full->Get(k));
    }
  }
  return out.Dump();
}

// RFC 7638 by hand, independent of the module's code: the required members in lexical order.
std::string ThumbprintOf(const TestKey& key) {
  auto j = Json::Parse(key.PublicJwk());
  std::string canonical;
  if (j->GetString("kty") == "EC") {
    canonical = R"({"crv":")" + *j->GetString("crv") + R"(","kty":"EC","x":")" +
                *j->GetString("x") + R"(","y":")" + *j->GetString("y") + "\"}";
  } else if (j->GetString("kty") == "RSA") {
    canonical =
        R"({"e":")" + *j->GetString("e") + R"(","kty":"RSA","n":")" + *j->GetString("n") + "\"}";
  } else {
    canonical = R"({"crv":")" + *j->GetString("crv") + R"(","kty":"OKP","x":")" +
                *j->GetString("x") + "\"}";
  }
  return B64Url(Sha256(canonical));
}

class DPoPProofTest : public ::testing::Test {
 protected:
  // Proof claims; `extra` is appended inside the object (e.g. ,"nonce":"x").
  std::string Claims(const std::string& htm = "GET", const std::string& htu = kHtu,
                     int64_t iat = kNow, const std::string& ath = "",
                     const std::string& jti = "jti-1") {
    std::string a = ath.empty() ? B64Url(Sha256(kToken)) : ath;
    return R"({"jti":")" + jti + R"(","htm":")" + htm + R"(","htu":")" + htu + R"(","iat":)" +
           std::to_string(iat) + R"(,"ath":")" + a + "\"}";
  }
  std::string Header(const TestKey& key, const std::string& typ = "dpop+jwt",
                     const std::string& jwk = "") {
    return R"({"typ":")" + typ + R"(","alg":")" + key.alg() + R"(","jwk":)" +
           (jwk.empty() ? ProofJwk(key) : jwk) + "}";
  }
  std::string Proof(const std::string& claims) { return key_.SignRaw(Header(key_), claims); }
  std::string Proof() { return Proof(Claims()); }

  Result<CheckedDPoPProof> Check(const std::string& proof, const std::string& method = "GET",
                                 const std::string& htu = kHtu, int64_t now = kNow) {
    DPoPProofExpectations expect{method, htu, kToken, jkt_, algs_, now};
    return CheckDPoPProof(proof, expect);
  }
  void ExpectRefused(const std::string& proof, const std::string& why) {
    auto r = Check(proof);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_NE(r.error().detail.find(why), std::string::npos) << r.error().detail;
  }

  const TestKey& key_ = TestKey::Ec("dpop-client-ec");
  std::string jkt_ = ThumbprintOf(key_);
  std::vector<std::string> algs_ = {"ES256", "PS256", "RS256", "EdDSA"};
};

TEST_F(DPoPProofTest, GoodProofIsAccepted) {
  auto r = Check(Proof());
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->jti, "jti-1");
  EXPECT_EQ(r->iat, kNow);
  EXPECT_EQ(r->jkt, jkt_);
}

TEST_F(DPoPProofTest, RsaAndEd25519ProofsAreAcceptedToo) {
  for (const TestKey* k : {&TestKey::Rsa("dpop-client-rsa"), &TestKey::Ed25519("dpop-client-ed")}) {
    std::string proof = k->SignRaw(Header(*k), Claims());
    std::string jkt = ThumbprintOf(*k);
    DPoPProofExpectations expect{"GET", kHtu, kToken, jkt, algs_, kNow};
    auto r = CheckDPoPProof(proof, expect);
    EXPECT_TRUE(r.ok()) << k->alg() << ": " << r.error().detail;
  }
}

TEST_F(DPoPProofTest, ProofForAnotherMethodIsRefused) {
  ExpectRefused(Proof(Claims("POST")), "another method");
  ExpectRefused(Proof(Claims("get")), "another method");
}

TEST_F(DPoPProofTest, ProofForAnotherUrlIsRefused) {
  ExpectRefused(Proof(Claims("GET", "https://api.example/v1/refunds")), "another URL");
  ExpectRefused(Proof(Claims("GET", "http://api.example/v1/payments")), "another URL");
  ExpectRefused(Proof(Claims("GET", "https://api.example:8443/v1/payments")), "another URL");
  ExpectRefused(Proof(Claims("GET", "https://evil.example/v1/payments")), "another URL");
  ExpectRefused(Proof(Claims("GET", "/v1/payments")), "another URL");
}

TEST_F(DPoPProofTest, HtuIgnoresQueryFragmentCaseAndDefaultPort) {
  for (const char* htu :
       {"https://api.example/v1/payments?id=7", "https://api.example/v1/payments#top",
        "HTTPS://API.Example/v1/payments", "https://api.example:443/v1/payments",
        "https://api.example/v1/%70ayments"}) {
    auto r = Check(Proof(Claims("GET", htu)));
    EXPECT_TRUE(r.ok()) << htu << ": " << (r.ok() ? "" : r.error().detail);
  }
}

TEST_F(DPoPProofTest, StaleOrFutureIatIsRefusedAndTheWindowEdgesPass) {
  ExpectRefused(Proof(Claims("GET", kHtu, kNow - kDPoPProofWindowSeconds - 1)), "too old");
  ExpectRefused(Proof(Claims("GET", kHtu, kNow + kDPoPProofWindowSeconds + 1)), "future");
  EXPECT_TRUE(Check(Proof(Claims("GET", kHtu, kNow - kDPoPProofWindowSeconds))).ok());
  EXPECT_TRUE(Check(Proof(Claims("GET", kHtu, kNow + kDPoPProofWindowSeconds))).ok());
  ExpectRefused(Proof(R"({"jti":"j","htm":"GET","htu":")" + std::string(kHtu) +
                      R"(","iat":"1700000000","ath":")" + B64Url(Sha256(kToken)) + "\"}"),
                "no iat");
}

TEST_F(DPoPProofTest, ProofForAnotherAccessTokenIsRefused) {
  ExpectRefused(Proof(Claims("GET", kHtu, kNow, B64Url(Sha256("another-token")))),
                "another access token");
  ExpectRefused(
      Proof(R"({"jti":"j","htm":"GET","htu":")" + std::string(kHtu) + R"(","iat":1700000000})"),
      "another access token");
}

TEST_F(DPoPProofTest, ProofWithoutJtiIsRefused) {
  ExpectRefused(Proof(Claims("GET", kHtu, kNow, "", "")), "jti");
  ExpectRefused(Proof(Claims("GET", kHtu, kNow, "", std::string(300, 'j'))), "jti");
}

TEST_F(DPoPProofTest, JwkWithAPrivatePartIsRefused) {
  std::string jwk = ProofJwk(key_);
  jwk.insert(jwk.size() - 1, R"(,"d":"c2VjcmV0LXNjYWxhci1vZi10aGUta2V5LTAwMDAwMDA")");
  ExpectRefused(key_.SignRaw(Header(key_, "dpop+jwt", jwk), Claims()), "private key");
}

TEST_F(DPoPProofTest, ProofByAnotherKeyThanTheBoundOneIsRefused) {
  auto other = TestKey::Generate(TestKey::Kind::kEcP256, "stranger");
  ExpectRefused(other->SignRaw(Header(*other), Claims()), "not the one the token is bound to");
}

TEST_F(DPoPProofTest, SignatureByAnotherKeyThanTheJwkIsRefused) {
  auto other = TestKey::Generate(TestKey::Kind::kEcP256, "stranger");
  // The bound key's jwk in the header, signed by someone else.
  ExpectRefused(other->SignRaw(Header(key_), Claims()), "does not verify");
  ExpectRefused(testing::TamperSignature(Proof()), "does not verify");
}

TEST_F(DPoPProofTest, AlgNoneAndHs256AreRefused) {
  std::string payload = B64Url(Claims());
  std::string none = B64Url(R"({"typ":"dpop+jwt","alg":"none","jwk":)" + ProofJwk(key_) + "}");
  ExpectRefused(none + "." + payload + ".", "alg");
  std::string hs = B64Url(R"({"typ":"dpop+jwt","alg":"HS256","jwk":)" + ProofJwk(key_) + "}");
  std::string mac = B64Url(HmacSha256(key_.PublicPem(), hs + "." + payload));
  ExpectRefused(hs + "." + payload + "." + mac, "alg");
}

TEST_F(DPoPProofTest, AlgOutsideTheAllowListIsRefused) {
  algs_ = {"PS256"};
  ExpectRefused(Proof(), "alg ES256 is not accepted");
}

TEST_F(DPoPProofTest, OtherTypIsRefused) {
  ExpectRefused(key_.SignRaw(Header(key_, "JWT"), Claims()), "typ");
  ExpectRefused(key_.SignRaw(Header(key_, "at+jwt"), Claims()), "typ");
}

TEST_F(DPoPProofTest, MissingOrRepeatedProofIsRefused) {
  ExpectRefused("", "no DPoP proof");
  ExpectRefused(Proof() + ", " + Proof(Claims("GET", kHtu, kNow, "", "jti-2")), "more than one");
  ExpectRefused("not-a-jws", "not a compact JWS");
  ExpectRefused(B64Url("[1]") + ".e30.c2ln", "header is not a JSON object");
  ExpectRefused(key_.SignRaw(R"({"typ":"dpop+jwt","alg":"ES256"})", Claims()), "no jwk");
}

TEST_F(DPoPProofTest, ProofHeaderKidDoesNotStopItsOwnKey) {
  std::string header =
      R"({"typ":"dpop+jwt","alg":"ES256","kid":"k1","jwk":)" + ProofJwk(key_) + "}";
  EXPECT_TRUE(Check(key_.SignRaw(header, Claims())).ok());
}

TEST(NormalizeHtu, NormalisesSchemeHostPortAndEscapes) {
  EXPECT_EQ(NormalizeHtu("HTTPS://Api.Example:443/a/b?x=1#f"), "https://api.example/a/b");
  EXPECT_EQ(NormalizeHtu("http://h:80"), "http://h/");
  EXPECT_EQ(NormalizeHtu("http://h:8080/"), "http://h:8080/");
  EXPECT_EQ(NormalizeHtu("https://h/%7euser/%2f%2F"), "https://h/~user/%2F%2F");
  EXPECT_EQ(NormalizeHtu("https://[::1]:8443/p"), "https://[::1]:8443/p");
  for (const char* bad : {"", "/path", "ftp://h/", "https:///p", "https://u@h/", "https://h/%zz",
                          "https://h/%4", "https://h/a b", "https://h/\x01"}) {
    EXPECT_EQ(NormalizeHtu(bad), std::nullopt) << bad;
  }
}

TEST(RequestHtu, IsTheNormalisedUrlOfTheRequest) {
  EXPECT_EQ(RequestHtu(true, "API.example:443", "/v1/payments"), "https://api.example/v1/payments");
  EXPECT_EQ(RequestHtu(false, "127.0.0.1:8080", ""), "http://127.0.0.1:8080/");
  EXPECT_EQ(RequestHtu(true, "bad host", "/"), "");
}

TEST(BoundJktOf, ReadsCnfJktAndRefusesBindingsItCannotCheck) {
  std::string jkt(43, 'A');
  EXPECT_EQ(*BoundJktOf(*Json::Parse(R"({"sub":"a"})")), "");
  EXPECT_EQ(*BoundJktOf(*Json::Parse(R"({"cnf":{"jkt":")" + jkt + "\"}}")), jkt);
  for (const char* claims :
       {R"({"cnf":"x"})", R"({"cnf":{"x5t#S256":"abc"}})", R"({"cnf":{"jkt":"short"}})",
        R"({"cnf":{"jkt":7}})", R"({"cnf":{}})"}) {
    EXPECT_FALSE(BoundJktOf(*Json::Parse(claims)).ok()) << claims;
  }
}

TEST(RememberDPoPProof, AJtiIsTakenOnceWithinTheWindow) {
  testing::InMemoryStore store;
  CheckedDPoPProof proof{"jti-1", std::string(43, 'A'), kNow};
  EXPECT_EQ(*RememberDPoPProof(store, proof, kNow), true);
  EXPECT_EQ(*RememberDPoPProof(store, proof, kNow + kDPoPProofWindowSeconds), false);
  CheckedDPoPProof other_jti{"jti-2", proof.jkt, kNow};
  EXPECT_EQ(*RememberDPoPProof(store, other_jti, kNow), true);
  CheckedDPoPProof other_key{"jti-1", std::string(43, 'B'), kNow};
  EXPECT_EQ(*RememberDPoPProof(store, other_key, kNow), true);
}

}  // namespace
}  // namespace coinpay
