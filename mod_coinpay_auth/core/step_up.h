// Step-up authentication: what a location asks of how (`acr`) and how recently (`auth_time`) its
// user authenticated. Browser locations send an insufficient session back to the provider
// (OpenID Connect Core 3.1.2.1: acr_values, max_age, prompt=login) and check the answer (3.1.3.7
// items 11-13); bearer locations refuse an insufficient token with RFC 9470's challenge.
//
//   StepUpShortfall s = ShortfallOf(options.step_up, record.acr, record.auth_time, now);
//   if (s.Any()) { StepUpRequest r = StepUpRequestFor(options.step_up, /*reauthenticate=*/true); }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/action.h"
#include "core/dpop_proof.h"
#include "core/encoding.h"
#include "core/json.h"
#include "core/result.h"

namespace coinpay {

struct BearerConfig;  // core/bearer_authn.h

// A location's demands (CoinpayAuthnContext, CoinpayMaxAuthAge); inactive by default, and then
// nothing here runs for that location.
struct StepUpPolicy {
  std::vector<std::string> acr_values;  // the user's acr must be one of these; empty: any
  int64_t max_auth_age = 0;             // seconds since the user authenticated; 0: any age
  bool Active() const { return !acr_values.empty() || max_auth_age > 0; }
};

// What an authentication lacks for a policy.
struct StepUpShortfall {
  bool acr = false;  // its acr is none of the policy's (or it has none)
  bool age = false;  // it is older than the policy's max age, or when it happened is unknown
  bool Any() const { return acr || age; }
};

// `authenticated_at`: when the user authenticated, on this server's clock (0: unknown, which
// is never recent enough).
StepUpShortfall ShortfallOf(const StepUpPolicy& policy, std::string_view acr,
                            int64_t authenticated_at, int64_t now);

// What a sign-in started at a step-up location asks of the provider. It travels in the sealed
// login-state cookie, so the callback checks the answer against what was asked, never against
// the location's current demands, and a weaker answer stops with a page instead of a redirect.
struct StepUpRequest {
  std::string acr_values;  // space-separated; "": not asked
  int64_t max_age = -1;    // seconds; -1: not asked
  bool prompt_login = false;
  bool Empty() const { return acr_values.empty() && max_age < 0; }
};

// The request for a sign-in at a location with `policy`. prompt=login when a session exists but
// falls short (`reauthenticate`: the provider's own session is likely the one that fell short),
// and whenever acr values are asked for: many providers treat acr_values as a wish and answer
// from their session, which would end in the callback's refusal page however often the user
// tried. A max age alone needs no prompt: max_age makes the provider re-authenticate.
StepUpRequest StepUpRequestFor(const StepUpPolicy& policy, bool reauthenticate);

// Adds the request's acr_values, max_age and prompt to an authorization request; they replace
// CoinpayAuthParam values of the same names.
void AddStepUpParams(const StepUpRequest& request, Params& params);

// What a verified ID token says about the user's authentication.
struct ProvenAuthentication {
  std::string acr;                   // "": none
  std::optional<int64_t> auth_time;  // the provider's clock
  std::optional<int64_t> iat;        // the provider's clock
};
// kBadInput when acr or auth_time is there but of the wrong type.
Result<ProvenAuthentication> ProvenBy(const Json& id_token_claims);

// The callback's check of a step-up sign-in's ID token against what was asked (OpenID Connect
// Core 3.1.3.7 items 11-13): the acr must be one of the requested values, and with a max_age
// auth_time must be there and at most that old when the token was issued. kMissingClaim or
// kExpired, with a detail fit for the log (the acr goes through Untrusted).
Status CheckStepUpAnswer(const StepUpRequest& asked, const ProvenAuthentication& proven);

// When the user authenticated, on this server's clock: the token's age of authentication when it
// was issued (iat - auth_time, both the provider's clock, so no clock difference counts) before
// `now`, the moment the token arrived from the token endpoint. 0 without auth_time.
int64_t AuthenticatedAt(const ProvenAuthentication& proven, int64_t now);

// Require coinpay-acr <value> ...: the token's (or session's) acr must be one of the values.
class AcrRule {
 public:
  // Values without quotes, backslashes, commas or control characters (they are echoed in
  // WWW-Authenticate); at least one.
  static Result<AcrRule> Parse(std::string_view require_args);
  bool SatisfiedBy(const Json& claims) const;
  const std::vector<std::string>& values() const { return values_; }

 private:
  std::vector<std::string> values_;
};

// True when an acr value can be echoed in a quoted WWW-Authenticate parameter as it is.
bool IsPlainAcrValue(std::string_view value);

// RFC 9470 for a bearer token's claims: nullopt when they satisfy `acr` (may be null: no acr
// demanded) and `max_auth_age` (0: none; auth_time on the provider's clock, `leeway` for the
// clock difference); else 401 with `WWW-Authenticate: Bearer error=
// "insufficient_user_authentication"` naming what a new token needs (acr_values, max_age).
// Under CoinpayBearerDPoP (`dpop_mode`) the challenges are DPoP's (RFC 9449 section 7.1), the
// error in the scheme the request used (`used_dpop`).
std::optional<Action> BearerStepUpChallenge(const BearerConfig& config, const AcrRule* acr,
                                            int64_t max_auth_age, const Json& claims, int64_t now,
                                            int64_t leeway, DPoPMode dpop_mode = DPoPMode::kOff,
                                            bool used_dpop = false);

}  // namespace coinpay
