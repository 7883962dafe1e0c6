// Opaque (non-JWT) bearer tokens: RFC 7662 introspection with the client's credentials. Each
// answer is remembered per process (core/introspection_cache.h): an active token until its exp
// (at most a minute), a refused one for a minute; one call per token however many threads ask
// at once, and at most a budget of calls per second for tokens never seen (503 past it).
#pragma once

#include <string_view>

#include "core/bearer_authn.h"

namespace coinpay {

// The verdict alone (the caller answers and counts): AuthenticateBearer goes on to check a
// DPoP binding from the introspection answer's cnf.jkt.
IntrospectionVerdict ResolveOpaque(ProviderClient& provider, VerifiedTokenCache& cache,
                                   int64_t now, LogSink& log, std::string_view token,
                                   const BearerConfig& config);

Action AuthenticateOpaque(ProviderClient& provider, VerifiedTokenCache& cache, int64_t now,
                          LogSink& log, std::string_view token, const BearerConfig& config);

}  // namespace coinpay
