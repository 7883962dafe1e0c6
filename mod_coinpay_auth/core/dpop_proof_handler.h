// How an application uses a DPoP-bound access token it received (CoinpayPassAccessToken On
// with CoinpayDPoP): with the token it gets a handle (COINPAY_ACCESS_TOKEN_DPOP_HANDLE), and
// POSTs it to SetHandler coinpay-dpop-proof with the method and URL it is about to call; the
// answer is a fresh proof signed with the session's key, which never leaves the module.
//
//   POST /coinpay/dpop-proof   handle=<handle>&htm=POST&htu=https://api.example/v1/payments
//   200 {"proof":"<DPoP header value>","token_type":"DPoP"}
//
// The handle is sealed (AES-GCM, its own purpose) and names one session; it lives no longer
// than the access token it came with. It is no ambient credential (no cookie), so a page on
// another site cannot make the browser ask for a proof (no CSRF); proofs are made only by POST,
// so they never appear in URLs or access logs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/action.h"
#include "core/request_view.h"
#include "core/result.h"
#include "core/site.h"

namespace coinpay {

// The handle for session `session_id`, valid until `expires_at`.
Result<std::string> MakeDPoPHandle(Site& site, std::string_view session_id, int64_t expires_at);

// SetHandler coinpay-dpop-proof: a POST with handle, htm, htu (and optionally nonce, when the
// resource server asked for one). 200 with the proof; 400 for a malformed request; 403 for a
// handle that does not open, an ended session or one without a DPoP-bound token.
Action HandleDPoPProof(Site& site, const RequestView& req);

}  // namespace coinpay
