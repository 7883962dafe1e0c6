// Authorization: the `coinpay-scope`, `coinpay-claim` and `coinpay-acr` Require providers, and what
// the authentication hooks leave for them (the request's verified claims).
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <memory>
#include <optional>

#include "core/action.h"
#include "core/claim_rules.h"
#include "core/json.h"
#include "core/step_up.h"

namespace coinpay::httpd {

struct AuthzRule {
  std::optional<ScopeRule> scope;
  std::optional<ClaimRule> claim;
  std::optional<AcrRule> acr;  // Require coinpay-acr (RFC 9470 step-up)
  bool SatisfiedBy(const Json& claims) const {
    if (acr) {
      return acr->SatisfiedBy(claims);
    }
    return scope ? scope->SatisfiedBy(claims) : claim->SatisfiedBy(claims);
  }
};

// Called by the authn hooks once the request is authenticated, before ApplyIdentity: keeps the
// identity (and what its views point into) alive as long as the request.
void RememberClaims(request_rec* r, std::shared_ptr<const Identity> id, bool bearer);

// A CORS preflight let through without a token: the Require coinpay-* lines grant it.
void MarkPreflight(request_rec* r);

void RegisterAuthzProviders(apr_pool_t* p);

// Require and AuthMerging belong to mod_authz_core. httpd offers a directive to the modules
// loaded later first, so these see each line just before mod_authz_core does: they note what it
// means for the prechecks (the Require lines in effect for a location) and decline it.
const char* NoteRequire(cmd_parms* cmd, void* dir, const char* args);
const char* NoteAuthMerging(cmd_parms* cmd, void* dir, const char* arg);

// auth_checker hook, run before mod_authz_core: a failing precheck answers 403 itself (with
// RFC 6750's insufficient_scope for bearer requests) instead of httpd's 401 and error line.
int PrecheckAuthz(request_rec* r);

}  // namespace coinpay::httpd
