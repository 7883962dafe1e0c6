// The provider's redirect back to us: check state against the sealed login cookie, exchange
// the code (with the PKCE verifier), verify the ID token, and start a fresh session.
#pragma once

#include "core/action.h"
#include "core/request_view.h"
#include "core/site.h"

namespace coinpay {

Action HandleCallback(Site& site, const RequestView& req);

}  // namespace coinpay
