// OpenID Connect Back-Channel Logout 1.0: the provider POSTs a signed logout_token; we verify it
// and end every session of that provider session (sid) or, without a sid, of that user (sub).
#pragma once

#include <string_view>

#include "core/action.h"
#include "core/json.h"
#include "core/site.h"

namespace coinpay {

// `form_body` is the request body (application/x-www-form-urlencoded).
Action HandleBackchannelLogout(Site& site, std::string_view form_body);

// The logout-token rules of section 2.6 on verified claims (iss/aud/iat/exp done elsewhere):
// a backchannel-logout event, sub or sid, a jti, and no nonce.
Status CheckLogoutTokenShape(const Json& claims);

}  // namespace coinpay
