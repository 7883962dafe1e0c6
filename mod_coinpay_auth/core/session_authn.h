// AuthType coinpay: a valid session lets the request through as its user; without one, a
// browser navigation is sent to sign in and anything else (XHR, JSON, non-GET) gets 401.
#pragma once

#include "core/action.h"
#include "core/request_view.h"
#include "core/site.h"

namespace coinpay {

Action AuthenticateSession(Site& site, const RequestView& req, const LocationOptions& options);

// The chooser page for a location that accepts several providers, or, when the query names one
// of them (coinpay_login=<name>), the start of that provider's sign-in (asking for `step_up`
// when not null).
Action ChooseProvider(Site& site, const RequestView& req, const std::vector<std::string>& names,
                      const StepUpRequest* step_up = nullptr);

// True when the request looks like a top-level browser navigation that a redirect can serve.
bool IsBrowserNavigation(const RequestView& req);

}  // namespace coinpay
