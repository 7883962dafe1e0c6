// AuthType coinpay: a valid session lets the request through as its user; without one, a
// browser navigation is sent to sign in and anything else (XHR, JSON, non-GET) gets 401.
#pragma once

#include "coinpay_auth/action.h"
#include "coinpay_auth/request_view.h"
#include "core/site.h"

namespace coinpay {

Action AuthenticateSession(Site& site, const RequestView& req, const LocationOptions& options);

// True when the request looks like a top-level browser navigation that a redirect can serve.
bool IsBrowserNavigation(const RequestView& req);

}  // namespace coinpay
