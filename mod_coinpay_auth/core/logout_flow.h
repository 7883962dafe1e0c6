// Signing out: revoke the refresh token at the provider (RFC 7009), destroy the session, clear
// the cookie, and send the browser to a safe return URL.
#pragma once

#include "coinpay_auth/action.h"
#include "coinpay_auth/request_view.h"
#include "core/site.h"

namespace coinpay {

Action HandleLogout(Site& site, const RequestView& req);

}  // namespace coinpay
