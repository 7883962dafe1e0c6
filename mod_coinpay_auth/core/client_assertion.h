// private_key_jwt client authentication (RFC 7523 section 2.2, OpenID Connect Core 9): a JWT the
// client signs with its own key for each call to the provider, and the JWKS that publishes the
// public halves of the configured keys (SetHandler coinpay-jwks).
//
//   auto jwt = MakeClientAssertion(*cfg.signing_keys[0], cfg.client_id, cfg.issuer, now, random);
//   params.emplace_back("client_assertion_type", kClientAssertionType);
//   params.emplace_back("client_assertion", *jwt);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/effects.h"
#include "core/jose.h"
#include "core/provider_config.h"
#include "core/result.h"

namespace coinpay {

inline constexpr std::string_view kClientAssertionType =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
// An assertion is good for this long: long enough for one call over a slow link, short enough
// that a copy in a log or a proxy is soon useless (the provider also refuses a replayed jti).
inline constexpr int64_t kClientAssertionLifetimeSeconds = 60;

// iss = sub = client_id; aud = the provider's issuer identifier as a single string (FAPI 2.0
// and RFC 7523bis ask for the issuer, not the endpoint URL, so one assertion cannot be
// replayed at another provider's endpoint that shares a URL shape); a fresh random jti; iat =
// now; exp = now + kClientAssertionLifetimeSeconds. Header typ JWT, kid of the key, alg of the
// key.
Result<std::string> MakeClientAssertion(const SigningKey& key, std::string_view client_id,
                                        std::string_view audience, int64_t now, Random& random);

// {"keys":[...]}: the public JWK of every key of these providers, each key once (by kid and
// thumbprint), in the order configured. Never a private member.
std::string PublishedJwks(const std::vector<const ProviderConfig*>& providers);

}  // namespace coinpay
