// Everything a request handler in the core needs, bundled once per virtual host: the provider,
// the session settings and store, and the effects. Built at startup by the glue.
#pragma once

#include "coinpay_auth/effects.h"
#include "core/provider_client.h"
#include "core/provider_config.h"
#include "core/session.h"

namespace coinpay {

struct Site {
  ProviderClient& provider;
  const SessionConfig& session_config;
  Sessions& sessions;
  const Clock& clock;
  Random& random;
  LogSink& log;
};

// Per-location choices (AuthType coinpay).
struct LocationOptions {
  enum class Unauthenticated { kAuto, kLogin, kDeny };
  Unauthenticated unauthenticated = Unauthenticated::kAuto;
};

}  // namespace coinpay
