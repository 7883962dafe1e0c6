// Calls to the provider's token, revocation, introspection and pushed authorization endpoints
// (RFC 6749 section 4.1.3 and 6, RFC 7009, RFC 7662, RFC 9126), with the client authentication
// the operator chose (a secret, or a private_key_jwt assertion: core/client_assertion.h). Every
// call goes through the provider's circuit breaker: while it is open they fail at once with
// Errc::kCircuitOpen instead of waiting for the HTTP timeout.
#pragma once

#include <cstdint>
#include <string>

#include "core/encoding.h"
#include "core/dpop_client.h"
#include "core/json.h"
#include "core/provider_client.h"
#include "core/result.h"

namespace coinpay {

struct TokenResponse {
  std::string access_token;
  std::string token_type;
  int64_t expires_in = 0;  // 0: not given
  std::string id_token;
  std::string refresh_token;
  std::string scope;
};

// RFC 9126 section 2.2: where to send the browser instead of the authorization parameters.
struct PushedAuthorizationResponse {
  std::string request_uri;
  int64_t expires_in = 0;
};

// Sends `req` to the provider through its circuit breaker. A transport failure or a 5xx counts
// against the provider; any other answer (an OAuth error such as invalid_grant too) for it.
Result<HttpResponse> SendThroughBreaker(ProviderClient& provider, const HttpRequest& req);

// With `dpop` (CoinpayDPoP on or required) the token calls carry a DPoP proof by the session's
// key; a `use_dpop_nonce` refusal is retried once with the provider's DPoP-Nonce, which is
// remembered for the next calls. Under CoinpayDPoP required a token_type other than DPoP is
// Errc::kProviderError: the provider did not bind the token.

// Exchanges an authorization code (with its PKCE verifier) for tokens.
Result<TokenResponse> ExchangeCode(ProviderClient& provider, const std::string& code,
                                   const std::string& code_verifier,
                                   const ClientProof* dpop = nullptr);
// grant_type=refresh_token. Errc::kInvalidGrant when the provider no longer accepts it.
Result<TokenResponse> RefreshTokens(ProviderClient& provider, const std::string& refresh_token,
                                    const ClientProof* dpop = nullptr);
// True when a token response bound the access token to the DPoP key (token_type DPoP).
bool IsDPoPBound(const TokenResponse& t);
// RFC 7662 introspection of `token`; the provider's JSON answer (check "active").
Result<Json> Introspect(ProviderClient& provider, const std::string& token);
// RFC 9126 pushed authorization request: POSTs the authorization `params` to `endpoint` with the
// client authentication, through the breaker. Errc::kProviderError for an error answer,
// kBadJson for a 201 without a request_uri.
Result<PushedAuthorizationResponse> PushAuthorizationRequest(ProviderClient& provider,
                                                             const std::string& endpoint,
                                                             Params params);
// RFC 7009 revocation; `hint` is "refresh_token" or "access_token".
// With RevocationAuth::kBearer the request authenticates with `access_token` (Coinbase), and
// any 2xx counts as done: such providers answer 200 for everything.
Status RevokeToken(ProviderClient& provider, const std::string& token, const std::string& hint,
                   const std::string& access_token = {});

}  // namespace coinpay
