// Translating between request_rec and the core's RequestView / Action.
#pragma once

#include <httpd.h>

#include "core/action.h"
#include "core/provider_config.h"
#include "core/request_view.h"
#include "httpd/config.h"

namespace coinpay::httpd {

// The request as the core sees it; scheme and host are the original ones when the peer is a
// CoinpayTrustedProxy (docs/reverse-proxy.md).
RequestView ViewOf(request_rec* r);
// Every `DPoP` header line, joined by ", " (core/dpop_proof.h refuses more than one).
std::string_view DPoPHeaderOf(request_rec* r);

// Logs CPA00310 (once per process and site) when a sign-in request's scheme or host differs
// from the provider's CoinpayRedirectURI: the classic "state cookie not found" behind a proxy.
void WarnIfSignInLooksElsewhere(request_rec* r, const RequestView& view, const ProviderConfig& p);

// Sends a kRespond action: headers (Set-Cookie survives error responses), Location for
// redirects, our page as the body. Returns the status for the hook to return.
int Respond(request_rec* r, const Action& a);

// Removes request headers that could pass for what we set (Coinpay-Claim-*, Coinpay-Provider,
// Coinpay-Issuer, ..., in any spelling).
void ScrubIdentityHeaders(request_rec* r);

// Removes the module's own cookies (session, login attempts) from the Cookie header the
// application sees, so a backend cannot replay the session (rules: core/session_cookie.h).
void StripModuleCookies(request_rec* r, const SessionConfig& c);

// Sets REMOTE_USER and the claims as the location asks. The tables may point into `id`: call
// RememberClaims first, which keeps the identity alive as long as the request.
void ApplyIdentity(request_rec* r, const DirConfig& dir, const Identity& id);

}  // namespace coinpay::httpd
