// Require coinpay-scope / coinpay-claim / coinpay-acr. Each Require line is parsed once, at
// config time.
#include "httpd/authz.h"

#include <apr_strings.h>
#include <http_config.h>
#include <http_log.h>
#include <http_request.h>
#include <mod_auth.h>
#include <util_cfgtree.h>

#include <strings.h>

#include "core/bearer_authn.h"
#include "core/log.h"
#include "core/pages.h"
#include "core/parsed_claims_cache.h"
#include "core/security_profile.h"
#include "httpd/config.h"
#include "httpd/guard.h"
#include "httpd/log_adapter.h"
#include "httpd/module.h"
#include "httpd/request_adapter.h"
#include "httpd/request_record.h"
#include "httpd/runtime.h"

namespace coinpay::httpd {
namespace {

// Sessions whose parsed claims each process keeps (a few KiB each).
constexpr size_t kParsedClaimsKept = 1024;

// The request's claims, parsed on first use (session requests keep them as text).
const Json* ClaimsOf(request_rec* r) {
  RequestRecord* rc = FindRequestRecord(r);
  if (rc == nullptr || rc->who == nullptr) {
    return nullptr;
  }
  if (!rc->parsed) {
    // A session's claims are the same text on each of its requests: parsed once per process.
    static auto* cache = new ParsedClaimsCache(kParsedClaimsKept);
    rc->parsed = cache->Parsed(rc->who->claims_json);
  }
  return rc->parsed.get();
}

// Whether the request's claims satisfy `rule`, decided once per request and rule.
bool Satisfies(RequestRecord& rc, const AuthzRule& rule, const Json& claims) {
  for (size_t i = 0; i < rc.verdict_count; ++i) {
    if (rc.verdicts[i].rule == &rule) {
      return rc.verdicts[i].satisfied;
    }
  }
  bool satisfied = rule.SatisfiedBy(claims);
  if (rc.verdict_count < rc.verdicts.size()) {
    rc.verdicts[rc.verdict_count++] = {&rule, satisfied};
  }
  return satisfied;
}

bool IsRequireSection(const char* name) {
  return strcasecmp(name, "Require") == 0 || strncasecmp(name, "<Require", 8) == 0;
}

int CountRequireChildren(const ap_directive_t* section) {
  int n = 0;
  for (const ap_directive_t* d = section->first_child; d != nullptr; d = d->next) {
    n += IsRequireSection(d->directive) ? 1 : 0;
  }
  return n;
}

// True when this Require line failing is enough to deny the whole request: it is the only
// authorization line of its section, or sits in <RequireAll> sections that are.
bool FailureAloneDenies(const ap_directive_t* line) {
  const char* args = line->args != nullptr ? line->args : "";
  if (strncasecmp(args, "not ", 4) == 0) {
    return false;
  }
  const ap_directive_t* node = line;
  while (node->parent != nullptr) {
    const ap_directive_t* parent = node->parent;
    if (CountRequireChildren(parent) != 1) {
      return false;
    }
    if (strcasecmp(parent->directive, "<RequireAll") == 0) {
      node = parent;
      continue;
    }
    return strncasecmp(parent->directive, "<Require", 8) != 0;  // <RequireAny>, <RequireNone>
  }
  return false;
}

enum class RuleKind { kScope, kClaim, kAcr };

template <RuleKind kKind>
const char* ParseRequireLine(cmd_parms* cmd, const char* require_line, const void** parsed) {
  auto rule = std::make_shared<AuthzRule>();
  if constexpr (kKind == RuleKind::kScope) {
    auto r = ScopeRule::Parse(require_line);
    if (!r) {
      return apr_pstrdup(cmd->pool, r.error().detail.c_str());
    }
    rule->scope = std::move(*r);
  } else if constexpr (kKind == RuleKind::kAcr) {
    auto r = AcrRule::Parse(require_line);
    if (!r) {
      return apr_pstrdup(cmd->pool, r.error().detail.c_str());
    }
    rule->acr = std::move(*r);
  } else {
    auto r = ClaimRule::Parse(require_line);
    if (!r) {
      return apr_pstrdup(cmd->pool, r.error().detail.c_str());
    }
    rule->claim = std::move(*r);
  }
  auto* holder = PoolNew<std::shared_ptr<const AuthzRule>>(cmd->pool, rule);
  *parsed = holder;
  // NoteRequire has just seen this line and made our config for its section. When it has not
  // (the module was loaded before mod_authz_core), there is no precheck: mod_authz_core alone
  // decides, with its 401 instead of a 403.
  auto* dir =
      cmd->context != nullptr
          ? static_cast<DirConfig*>(ap_get_module_config(cmd->context, &coinpay_auth_module))
          : nullptr;
  if (dir != nullptr && dir->has_require && cmd->directive != nullptr &&
      FailureAloneDenies(cmd->directive)) {
    dir->prechecks.push_back(rule);
  }
  return nullptr;
}

constexpr char kPreflightNote[] = "coinpay-auth-preflight";

template <RuleKind kKind>
const char* ParseRequire(cmd_parms* cmd, const char* require_line, const void** parsed) {
  return Guarded(cmd->pool, 921, "could not be read (internal error, see the error log)",
                 [&] { return ParseRequireLine<kKind>(cmd, require_line, parsed); });
}

authz_status CheckRequire(request_rec* r, const char* /*require_line*/, const void* parsed) {
  return Guarded(r, 919, AUTHZ_GENERAL_ERROR, [&] {
    if (apr_table_get(r->notes, kPreflightNote) != nullptr) {
      return AUTHZ_GRANTED;
    }
    if (r->user == nullptr) {
      return AUTHZ_DENIED_NO_USER;
    }
    const Json* claims = ClaimsOf(r);
    const auto* rule = static_cast<const std::shared_ptr<const AuthzRule>*>(parsed);
    if (claims == nullptr || rule == nullptr) {
      return AUTHZ_DENIED;
    }
    // ClaimsOf found the record.
    return Satisfies(*FindRequestRecord(r), **rule, *claims) ? AUTHZ_GRANTED : AUTHZ_DENIED;
  });
}

const authz_provider kScopeProvider = {&CheckRequire, &ParseRequire<RuleKind::kScope>};
const authz_provider kClaimProvider = {&CheckRequire, &ParseRequire<RuleKind::kClaim>};
const authz_provider kAcrProvider = {&CheckRequire, &ParseRequire<RuleKind::kAcr>};

}  // namespace

void RememberClaims(request_rec* r, std::shared_ptr<const Identity> id, bool bearer) {
  RequestRecord& rc = RequestRecordOf(r);
  rc.parsed = id != nullptr ? id->parsed_claims : nullptr;
  rc.who = std::move(id);
  rc.bearer = bearer;
}

void MarkPreflight(request_rec* r) { apr_table_setn(r->notes, kPreflightNote, "1"); }

const char* NoteRequire(cmd_parms* /*cmd*/, void* dir, const char* /*args*/) {
  if (dir != nullptr) {
    static_cast<DirConfig*>(dir)->has_require = true;
  }
  return DECLINE_CMD;
}

const char* NoteAuthMerging(cmd_parms* /*cmd*/, void* dir, const char* arg) {
  if (dir != nullptr && arg != nullptr) {
    AuthMerging& m = static_cast<DirConfig*>(dir)->merging;
    if (strcasecmp(arg, "off") == 0) {
      m = AuthMerging::kOff;
    } else if (strcasecmp(arg, "and") == 0) {
      m = AuthMerging::kAnd;
    } else if (strcasecmp(arg, "or") == 0) {
      m = AuthMerging::kOr;
    }  // anything else: mod_authz_core refuses the line
  }
  return DECLINE_CMD;
}

void RegisterAuthzProviders(apr_pool_t* p) {
  ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "coinpay-scope", AUTHZ_PROVIDER_VERSION,
                            &kScopeProvider, AP_AUTH_INTERNAL_PER_CONF);
  ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "coinpay-claim", AUTHZ_PROVIDER_VERSION,
                            &kClaimProvider, AP_AUTH_INTERNAL_PER_CONF);
  ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "coinpay-acr", AUTHZ_PROVIDER_VERSION,
                            &kAcrProvider, AP_AUTH_INTERNAL_PER_CONF);
}

namespace {

const BearerConfig& BearerConfigOf(request_rec* r) {
  static const BearerConfig kFallback;
  VhostState* rt = VhostStateOf(r->server);
  return rt != nullptr ? rt->bearer : kFallback;
}

// RFC 9470 for a bearer request: the location's Require coinpay-acr prechecks and its
// CoinpayMaxAuthAge, answered with one challenge that names everything a new token needs.
// Runs only where the location has either.
int PrecheckStepUp(request_rec* r, const DirConfig& dir, const Json* claims) {
  const int64_t max_age = dir.max_auth_age.value;
  const AcrRule* first_acr = nullptr;
  for (const auto& rule : dir.prechecks) {
    if (rule->acr) {
      first_acr = &*rule->acr;
      break;
    }
  }
  if (first_acr == nullptr && max_age <= 0) {
    return DECLINED;
  }
  VhostState* rt = VhostStateOf(r->server);
  const int64_t leeway =
      rt != nullptr && rt->first != nullptr ? rt->first->config().leeway_seconds : 0;
  const int64_t now = ProcessClock().NowSeconds();
  static const Json kNoClaims = Json::Object();
  const Json& seen = claims != nullptr ? *claims : kNoClaims;
  // The first acr rule that fails names its values; with none failing, the first one's (a new
  // token must still satisfy it).
  const AcrRule* acr = first_acr;
  for (const auto& rule : dir.prechecks) {
    if (rule->acr && !rule->acr->SatisfiedBy(seen)) {
      acr = &*rule->acr;
      break;
    }
  }
  const DPoPMode mode = EffectiveBearerDPoP(BearerConfigOf(r), dir.bearer_dpop.value);
  const char* authorization = apr_table_get(r->headers_in, "Authorization");
  auto challenge =
      BearerStepUpChallenge(BearerConfigOf(r), acr, max_age, seen, now, leeway, mode,
                            UsesDPoPScheme(mode, authorization != nullptr ? authorization : ""));
  if (!challenge) {
    return DECLINED;
  }
  RequestLog log(r);
  LogAt(log, LogLevel::kInfo, 443,
        "bearer token's authentication too weak or too old for this location (401 "
        "insufficient_user_authentication)");
  return Respond(r, *challenge);
}

int Precheck(request_rec* r) {
  RequestRecord* rc = FindRequestRecord(r);
  if (rc == nullptr || rc->who == nullptr) {
    return DECLINED;
  }
  const DirConfig& dir = DirConfigOf(r);
  if (rc->bearer && (dir.max_auth_age.value > 0 || !dir.prechecks.empty())) {
    if (int answered = PrecheckStepUp(r, dir, ClaimsOf(r)); answered != DECLINED) {
      return answered;
    }
  }
  if (dir.prechecks.empty()) {
    return DECLINED;
  }
  const Json* claims = ClaimsOf(r);
  for (const auto& rule : dir.prechecks) {
    if (claims != nullptr && Satisfies(*rc, *rule, *claims)) {
      continue;
    }
    RequestLog log(r);
    if (rc->bearer) {
      LogAt(log, LogLevel::kInfo, 163, "bearer token lacks a required scope or claim (403)");
      const BearerConfig& cfg = BearerConfigOf(r);
      // A DPoP request is answered in the DPoP scheme (RFC 9449 section 7.1).
      DPoPMode mode = EffectiveBearerDPoP(cfg, dir.bearer_dpop.value);
      const char* authorization = apr_table_get(r->headers_in, "Authorization");
      bool used_dpop = UsesDPoPScheme(mode, authorization != nullptr ? authorization : "");
      return Respond(r, rule->scope
                            ? DPoPChallenge(cfg, mode, used_dpop, "insufficient_scope",
                                            "The access token lacks a required scope", 403,
                                            rule->scope->Joined())
                            : DPoPChallenge(cfg, mode, used_dpop, "insufficient_scope",
                                            "The access token lacks a required claim", 403));
    }
    LogAt(log, LogLevel::kInfo, 164, "signed-in user lacks a required claim or scope (403)");
    return Respond(r, ErrorPage(ErrorKind::kAccessDenied, 403, "Access denied",
                                "Your account is not allowed to see this page."));
  }
  return DECLINED;
}

}  // namespace

int PrecheckAuthz(request_rec* r) {
  return Guarded(r, 920, [&] { return Precheck(r); });
}

}  // namespace coinpay::httpd
