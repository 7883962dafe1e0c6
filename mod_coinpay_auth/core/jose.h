// JWS verification against a JWKS, with an explicit algorithm allow-list, and JWT signing with
// our own private keys (client assertions, DPoP proofs). Built on cjose (and OpenSSL for EdDSA,
// which cjose lacks, and for signing, through core/crypto.h); a key set or a signing key is
// imported once and then shared read-only by every thread.
//
//   auto jwks = Jwks::Parse(jwks_json);                     // once per fetch
//   auto jwt = VerifyJws(token, **jwks, {"RS256", "ES256"});  // per token
//   if (jwt) { use(jwt->claims); }
//
//   auto key = SigningKey::FromPem(pem, "");                // once, when configured
//   auto assertion = (*key)->SignJwt(claims, "JWT", /*with_kid=*/true);
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace coinpay {

class Jwks {
 public:
  struct Key;
  ~Jwks();
  Jwks(const Jwks&) = delete;
  Jwks& operator=(const Jwks&) = delete;

  // Imports every usable signing key: RSA, EC, and OKP with crv Ed25519 (public part only).
  // Symmetric ("oct") keys, keys with use != "sig" and other OKP curves (Ed448, X25519) are
  // skipped, because a provider's published keys must be public keys we can verify with.
  static Result<std::shared_ptr<const Jwks>> Parse(std::string_view jwks_json);
  bool HasKid(std::string_view kid) const;
  size_t size() const;

 private:
  friend Result<struct VerifiedJwt> VerifyJws(std::string_view, const Jwks&,
                                              const std::vector<std::string>&);
  Jwks() = default;
  std::vector<Key> keys_;
};

struct VerifiedJwt {
  Json header;
  Json claims;
};

// The JWS header's kid, without verifying anything (used to decide on a JWKS refetch).
std::string PeekKid(std::string_view compact);

// Verifies the compact JWS: alg in `allowed_algs` (never "none", never HS*), a key whose kid
// and type fit, a valid signature; then parses the payload as a JSON object.
Result<VerifiedJwt> VerifyJws(std::string_view compact, const Jwks& jwks,
                              const std::vector<std::string>& allowed_algs);

class PrivateKey;

// An asymmetric private key that signs JWTs; immutable, shared read-only by threads.
class SigningKey {
 public:
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // A PEM private key (PKCS#8 or traditional, unencrypted): RSA of at least 2048 bits (alg RS256
  // by default, PS256 allowed), EC P-256 (ES256) or P-384 (ES384). An empty kid becomes the
  // RFC 7638 thumbprint. Errors (Errc::kConfig) say what is wrong with the key in words an
  // operator can act on.
  static Result<std::shared_ptr<const SigningKey>> FromPem(std::string_view pem,
                                                           std::string_view kid,
                                                           std::string_view alg = {});
  static Result<std::shared_ptr<const SigningKey>> GenerateEs256();  // a fresh P-256 key (DPoP)
  // Restores a key stored with PrivateJwkJson (kid and alg are taken from the JWK).
  static Result<std::shared_ptr<const SigningKey>> FromPrivateJwk(std::string_view jwk_json);

  // The private JWK, to keep a generated key in a sealed session. Never log it.
  std::string PrivateJwkJson() const;
  // {"kty","crv","x","y" | "n","e", "kid","alg","use":"sig"}: what a JWKS publishes.
  const std::string& PublicJwkJson() const { return public_jwk_json_; }
  // RFC 7638 SHA-256 thumbprint, base64url.
  const std::string& Thumbprint() const { return thumbprint_; }
  const std::string& kid() const { return kid_; }
  const std::string& alg() const { return alg_; }

  // Compact JWS of `claims`. Header: {"alg":alg(),"typ":typ} (no typ when empty), plus "kid"
  // when with_kid, plus "jwk": the public JWK when embed_jwk (as a DPoP proof carries it).
  Result<std::string> SignJwt(const Json& claims, std::string_view typ, bool with_kid,
                              bool embed_jwk = false) const;

 private:
  SigningKey(std::unique_ptr<PrivateKey> key, std::string alg);
  static Result<std::shared_ptr<const SigningKey>> Make(PrivateKey key, std::string_view kid,
                                                        std::string_view alg);
  std::unique_ptr<PrivateKey> key_;
  std::string alg_;
  std::string kid_;
  std::string public_jwk_json_;
  std::string thumbprint_;
};

// RFC 7638 thumbprint (SHA-256, base64url) of a public JWK given as JSON: RSA, EC or OKP, with
// only the required members hashed. A JWK carrying private members is refused, so a DPoP proof
// that leaks its private key does not get a thumbprint.
Result<std::string> JwkThumbprint(std::string_view public_jwk_json);

// True for the asymmetric algorithms this module can verify (RS*, PS*, ES*, and EdDSA with
// Ed25519 keys).
bool IsSupportedAlgorithm(std::string_view alg);

}  // namespace coinpay
