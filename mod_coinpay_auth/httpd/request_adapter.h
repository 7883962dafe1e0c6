// Translating between request_rec and the core's RequestView / Action.
#pragma once

#include <httpd.h>

#include "coinpay_auth/action.h"
#include "coinpay_auth/request_view.h"
#include "core/provider_config.h"
#include "httpd/config.h"

namespace coinpay::httpd {

RequestView ViewOf(request_rec* r);

// Sends a kRespond action: headers (Set-Cookie survives error responses), Location for
// redirects, our page as the body. Returns the status for the hook to return.
int Respond(request_rec* r, const Action& a);

// Removes request headers that could pass for what we set (Coinpay-Claim-*, Coinpay-Provider,
// Coinpay-Issuer, ..., in any spelling).
void ScrubIdentityHeaders(request_rec* r);

// Removes the module's own cookies (session, login attempts) from the Cookie header the
// application sees, so a backend cannot replay the session (rules: core/session_cookie.h).
void StripModuleCookies(request_rec* r, const SessionConfig& c);

// Sets REMOTE_USER and the claims as the location asks.
void ApplyIdentity(request_rec* r, const DirConfig& dir, const Identity& id);

}  // namespace coinpay::httpd
