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
  // Stricter limits for this location than the server's (0: the server's apply): an older or
  // idler session must sign in again here, while it stays valid elsewhere.
  int64_t max_age_seconds = 0;
  int64_t idle_timeout_seconds = 0;
};

}  // namespace coinpay
