// Starting a sign-in: PKCE verifier, state and nonce from the CSPRNG, sealed into a per-attempt
// cookie, and a redirect to the provider's authorization endpoint; with PAR (RFC 9126) the
// parameters are first POSTed to the provider (a blocking call, bounded by
// CoinpayHTTPTimeout and the provider's circuit breaker) and the browser carries only
// client_id and request_uri.
#pragma once

#include <string_view>

#include "core/action.h"
#include "core/provider_metadata.h"
#include "core/request_view.h"
#include "core/session_cookie.h"
#include "core/site.h"
#include "core/step_up.h"

namespace coinpay {

// What a sign-in attempt remembers between the redirect out and the callback.
struct LoginState {
  std::string state;
  std::string nonce;
  std::string code_verifier;
  std::string return_to;
  std::string provider;
  int64_t issued_at = 0;
  StepUpRequest step_up;  // what a step-up location asked of the provider (none: empty)
};
std::string EncodeLoginState(const LoginState& s);
std::optional<LoginState> DecodeLoginState(std::string_view text);

constexpr std::string_view kLoginStatePurpose = "login-state";

// How the authorization request reaches the provider (CoinpayPushedAuthorization): in the
// browser's URL, pushed first (RFC 9126), or not at all when PAR is required and the provider
// offers none.
enum class AuthorizationRoute { kFrontChannel, kPushed, kRefused };
AuthorizationRoute RouteAuthorizationRequest(ParMode mode, const ProviderMetadata& meta);

// `return_to` is the raw requested URL; unsafe values fall back to "/". `step_up`: what a
// step-up location asks of this sign-in (core/step_up.h), or null.
Action StartLogin(Site& site, const RequestView& req, std::string_view return_to,
                  const StepUpRequest* step_up = nullptr);

// The coinpay-login handler: reads return_to from the query.
Action HandleLoginRequest(Site& site, const RequestView& req);

}  // namespace coinpay
