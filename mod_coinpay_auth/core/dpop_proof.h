// DPoP proofs (RFC 9449) as a resource server checks them: the `DPoP` header of a request that
// presents a DPoP-bound access token (`Authorization: DPoP <token>`, token with `cnf.jkt`).
//
//   DPoPProofExpectations expect{req.method, RequestHtu(https, host, path), token, jkt, algs, now};
//   auto proof = CheckDPoPProof(dpop_header, expect);          // every rule of RFC 9449 4.3
//   if (proof) { auto fresh = RememberDPoPProof(store, *proof, now); }  // jti replay, all nodes
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "core/shared_store.h"

namespace coinpay {

// CoinpayBearerDPoP, per location: off (no DPoP scheme; a DPoP-bound token is still refused,
// never accepted without its proof), allowed (Bearer and DPoP tokens, each by its own rules),
// required (only DPoP-bound tokens with a proof).
enum class DPoPMode { kOff, kAllowed, kRequired };

// A proof's iat may be this many seconds before or after the server's clock. Its jti is
// remembered for as long as the proof could be accepted (iat + this window), so a replay within
// the window is refused and one after it is refused as stale.
inline constexpr int64_t kDPoPProofWindowSeconds = 60;

struct DPoPProofExpectations {
  std::string_view method;               // this request's, exactly (htm)
  std::string_view htu;                  // RequestHtu of this request (already normalised)
  std::string_view access_token;         // ath = base64url(SHA-256(token))
  std::string_view jkt;                  // the token's cnf.jkt: the proof's key must have it
  const std::vector<std::string>& algs;  // allowed proof algorithms (asymmetric only)
  int64_t now = 0;
};

struct CheckedDPoPProof {
  std::string jti;
  std::string jkt;
  int64_t iat = 0;
};

// The key a token's claims (JWT or introspection answer) bind it to: cnf.jkt, "" when the token
// is not bound; an error when cnf binds it in a way this module cannot check (a certificate,
// x5t#S256; a jkt that is no SHA-256 thumbprint): such a token is refused, never taken as unbound.
Result<std::string> BoundJktOf(const Json& claims);

// Checks one `DPoP` header value (repeated headers arrive joined by ", " and are refused: a
// compact JWS holds no comma): typ dpop+jwt, alg in `algs`, a public `jwk` (no private member)
// that verifies the signature and whose RFC 7638 thumbprint is `jkt`, htm, htu, iat within the
// window, ath, a jti. The error's detail is fixed text or Untrusted-escaped, fit for a log line.
Result<CheckedDPoPProof> CheckDPoPProof(std::string_view proof,
                                        const DPoPProofExpectations& expect);

// Records the proof's jti in the shared store (every child, and with Redis every node): true
// the first time, false for a replay within the window; an error when the store cannot answer.
Result<bool> RememberDPoPProof(SharedStore& store, const CheckedDPoPProof& proof, int64_t now);

// An http(s) URL as RFC 9449 compares htu: scheme and host lower case, the default port dropped,
// an empty path as "/", percent escapes of unreserved characters decoded and the others upper
// case; query and fragment dropped. nullopt when it is not an absolute http(s) URL.
std::optional<std::string> NormalizeHtu(std::string_view url);

// The htu of a request: its (proxy-aware) scheme and Host, and its path as received.
std::string RequestHtu(bool https, std::string_view host, std::string_view path);

}  // namespace coinpay
