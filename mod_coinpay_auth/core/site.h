// Everything a request handler in the core needs, bundled once per virtual host: the provider,
// the session settings and store, and the effects. Built at startup by the glue.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/effects.h"
#include "core/provider_client.h"
#include "core/provider_config.h"
#include "core/session.h"
#include "core/step_up.h"

namespace coinpay {

struct Site {
  ProviderClient& provider;
  const SessionConfig& session_config;
  Sessions& sessions;
  const Clock& clock;
  Random& random;
  LogSink& log;
  // The other providers of this virtual host by name ("" = the default), for sessions signed
  // in elsewhere; unset when there is only `provider`.
  std::function<ProviderClient*(const std::string&)> provider_named = nullptr;

  // The same site, served by `other` (a session signed in there, a chosen provider).
  Site With(ProviderClient& other) const {
    return Site{other, session_config, sessions, clock, random, log, provider_named};
  }

  ProviderClient* ProviderNamed(const std::string& name) {
    if (name == provider.config().name) {
      return &provider;
    }
    return provider_named ? provider_named(name) : nullptr;
  }
};

// Per-location choices (AuthType coinpay).
struct LocationOptions {
  enum class Unauthenticated { kAuto, kLogin, kDeny };
  Unauthenticated unauthenticated = Unauthenticated::kAuto;
  // When the session's access token is refreshed: kAuto only where the application receives it
  // (pass_access_token), kAlways on every request that finds it due.
  enum class Refresh { kAuto, kAlways };
  Refresh refresh = Refresh::kAuto;
  bool pass_access_token = false;
  // Stricter limits for this location than the server's (0: the server's apply): an older or
  // idler session must sign in again here, while it stays valid elsewhere.
  int64_t max_age_seconds = 0;
  int64_t idle_timeout_seconds = 0;
  // Providers whose sessions count here ("" = the default). Empty: the site's provider only.
  // With several, unauthenticated browsers get a chooser page.
  std::vector<std::string> providers;
  // Step-up (CoinpayAuthnContext, CoinpayMaxAuthAge): how and how recently the user must have
  // authenticated here; inactive by default.
  StepUpPolicy step_up;
};

}  // namespace coinpay
