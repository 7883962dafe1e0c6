// Signing keys made at test time (OpenSSL EVP), their JWKS, JWTs signed with them, and the
// forgeries an attacker would try: alg none, HS256 keyed with the RSA public key, a bad signature.
//
//   const TestKey& rsa = TestKey::Rsa("rsa-1");
//   std::string jwks = MakeJwks({&rsa});
//   std::string jwt = rsa.SignJwt(R"({"iss":"https://op","sub":"alice"})");
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;

namespace coinpay::testing {

class TestKey {
 public:
  enum class Kind { kRsa, kEcP256, kEd25519 };

  // Process-wide keys, generated once per kid and reused (RSA generation is slow).
  static const TestKey& Rsa(const std::string& kid);
  static const TestKey& Ec(const std::string& kid);
  static const TestKey& Ed25519(const std::string& kid);
  // A fresh key that no shared JWKS knows.
  static std::unique_ptr<TestKey> Generate(Kind kind, const std::string& kid);
  // An Ed25519 key from its 32-byte private seed (RFC 8037 A.1's "d"), for fixed vectors.
  static std::unique_ptr<TestKey> Ed25519FromSeed(std::string_view seed, const std::string& kid);

  ~TestKey();
  TestKey(const TestKey&) = delete;
  TestKey& operator=(const TestKey&) = delete;

  const std::string& kid() const { return kid_; }
  std::string alg() const;
  // The public JWK as JSON text, with kid, alg and use=sig.
  std::string PublicJwk() const;
  // SubjectPublicKeyInfo PEM: what an HS256/RS256 confusion attack uses as the HMAC secret.
  std::string PublicPem() const;
  // PKCS#8 PEM of the private key: what an operator's CoinpayPrivateKeyFile holds.
  std::string PrivatePem() const;

  // Signs `header_json`.`payload_json` with this key's alg (the header is used as given).
  std::string SignRaw(std::string_view header_json, std::string_view payload_json) const;
  // Signs with header {"alg":<alg>,"kid":<kid>,"typ":"JWT"}.
  std::string SignJwt(std::string_view payload_json) const;
  // Same, but the header names `kid` instead of this key's own.
  std::string SignJwtWithKid(std::string_view payload_json, std::string_view kid) const;

 private:
  TestKey(Kind kind, std::string kid, evp_pkey_st* pkey);
  Kind kind_;
  std::string kid_;
  evp_pkey_st* pkey_;
};

// {"keys":[...]} with each key's public JWK, plus any extra JWK objects given as JSON text.
std::string MakeJwks(const std::vector<const TestKey*>& keys,
                     const std::vector<std::string>& extra_jwks = {});

// header.payload. with {"alg":"none"}.
std::string ForgeAlgNone(std::string_view payload_json, std::string_view kid = "");
// An HS256 JWS whose HMAC key is `secret` (e.g. an RSA key's public PEM).
std::string ForgeHs256(std::string_view payload_json, std::string_view secret,
                       std::string_view kid);
// The same token with one signature bit flipped (still valid base64url).
std::string TamperSignature(std::string_view compact);
// The same token with a different payload and the original signature.
std::string SwapPayload(std::string_view compact, std::string_view payload_json);

// Base64url without padding (test-side, independent of the core's encoder).
std::string B64Url(std::string_view bytes);

}  // namespace coinpay::testing
