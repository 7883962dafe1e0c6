// AuthType coinpay-bearer: an API request proves itself with a JWT access token in
// `Authorization: Bearer` (RFC 6750), verified against the provider's keys and claims rules
// (RFC 9068). Failures answer as RFC 6750 section 3 says, with fixed descriptions. Where a
// location takes DPoP (CoinpayBearerDPoP), `Authorization: DPoP` with a `DPoP` proof too
// (RFC 9449, core/dpop_proof.h); a DPoP-bound token (cnf.jkt) never passes without its proof.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/action.h"
#include "core/dpop_proof.h"
#include "core/json.h"
#include "core/provider_client.h"
#include "core/request_view.h"
#include "core/token_cache.h"

namespace coinpay {

struct BearerConfig {
  std::vector<std::string> audiences;  // aud must contain one; empty only with any_audience
  bool any_audience = false;
  AccessTokenType token_type = AccessTokenType::kAtJwt;
  // The client ids this server signs users in with: a plainly typed token addressed to one of
  // them is an ID token and never an access token.
  std::vector<std::string> own_client_ids;
  std::string realm = "api";
  // Algorithms a DPoP proof may use (CoinpayBearerDPoPAlgorithms; asymmetric only).
  std::vector<std::string> dpop_algs = {"ES256", "PS256"};
  // CoinpaySecurityProfile fapi2: every bearer location takes only DPoP-bound tokens with their
  // proofs, whatever its CoinpayBearerDPoP (core/security_profile.h EffectiveBearerDPoP).
  bool sender_constrained_only = false;
};

// What a location asks of DPoP (CoinpayBearerDPoP), and where proofs' jti are remembered (the
// shared store: every child and, with Redis, every node). `replay` may be null only with kOff.
struct BearerDPoP {
  DPoPMode mode = DPoPMode::kOff;
  SharedStore* replay = nullptr;
};

// The token in an Authorization header: scheme "Bearer" (any case) and one token68 value.
// nullopt when absent or not Bearer; Errc::kBadInput when malformed.
Result<std::string_view> BearerTokenOf(std::string_view authorization);

Action AuthenticateBearer(ProviderClient& provider, VerifiedTokenCache& cache, const Clock& clock,
                          LogSink& log, const RequestView& req, const BearerConfig& config,
                          const BearerDPoP& dpop = {});

// Shared with the opaque-token path (core/opaque_bearer.h):
// the fixed text for a refusal (never the token); the 503 for a token that cannot be checked
// now (the provider is unreachable).
const char* BearerErrorDescription(Errc e);
Action BearerUnavailable(const BearerConfig& config);

// 401 with `WWW-Authenticate: Bearer realm=..., error=..., error_description=...`
// (no error when `error` is empty: the request carried no token).
Action BearerChallenge(const BearerConfig& config, std::string_view error,
                       std::string_view description, int status = 401, std::string_view scope = {});

// The same answer where a location takes DPoP: `allowed` challenges with both schemes (the
// error on the one the request used), `required` with DPoP only (RFC 9449 section 7.1:
// `DPoP algs="...", error="invalid_dpop_proof"`). kOff is BearerChallenge.
Action DPoPChallenge(const BearerConfig& config, DPoPMode mode, bool used_dpop,
                     std::string_view error, std::string_view description, int status = 401,
                     std::string_view scope = {});
// True when the request's Authorization header uses the DPoP scheme where `mode` takes it.
bool UsesDPoPScheme(DPoPMode mode, std::string_view authorization);

}  // namespace coinpay
