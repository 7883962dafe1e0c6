// Opaque (non-JWT) bearer tokens: RFC 7662 introspection with the client's credentials, the
// answer cached until the token's exp (at most a minute), inactive tokens refused.
#pragma once

#include <string_view>

#include "core/bearer_authn.h"

namespace coinpay {

Action AuthenticateOpaque(ProviderClient& provider, VerifiedTokenCache& cache, int64_t now,
                          LogSink& log, std::string_view token, const BearerConfig& config);

}  // namespace coinpay
