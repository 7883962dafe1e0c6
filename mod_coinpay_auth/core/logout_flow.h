// Signing out: revoke the refresh token at the provider (RFC 7009), destroy the session, clear
// the cookie, and send the browser to a safe return URL.
//
// A logout link followed from another site must not sign anyone out (any page could embed it):
// a GET whose Sec-Fetch-Site is cross-site gets a confirmation page instead, whose button POSTs
// back here with a token bound to the session (HMAC under a key from the crypto passphrase).
//
//   GET  (same-origin, same-site, none, or no Sec-Fetch-Site)  -> signed out, 302
//   GET  (cross-site)                                          -> 200 confirmation page
//   POST csrf=<token of this session>                          -> signed out, 302
//   POST without it or with another                            -> 403
#pragma once

#include <string>
#include <string_view>

#include "core/action.h"
#include "core/request_view.h"
#include "core/site.h"

namespace coinpay {

Action HandleLogout(Site& site, const RequestView& req);

// The token the confirmation page carries for the session with this id ("" for none).
// Empty when no crypto passphrase is configured (no POST is then accepted).
std::string LogoutConfirmationToken(const SessionConfig& config, std::string_view session_id);

}  // namespace coinpay
