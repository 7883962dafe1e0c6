// JWS verification against a JWKS, with an explicit algorithm allow-list. Built on cjose (and
// OpenSSL for EdDSA, which cjose lacks); a key set is parsed and imported once and then shared
// read-only by every thread.
//
//   auto jwks = Jwks::Parse(jwks_json);                     // once per fetch
//   auto jwt = VerifyJws(token, **jwks, {"RS256", "ES256"});  // per token
//   if (jwt) { use(jwt->claims); }
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

// True for the asymmetric algorithms this module can verify (RS*, PS*, ES*, and EdDSA with
// Ed25519 keys).
bool IsSupportedAlgorithm(std::string_view alg);

}  // namespace coinpay
