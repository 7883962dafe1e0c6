// The module: its hooks and handlers. Each hook is a noexcept trampoline: it translates the
// request, calls the core, and translates the answer back; nothing thrown reaches httpd.
#include <httpd.h>
#include <apr_strings.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>

#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "core/backchannel_logout.h"
#ifdef COINPAY_BENCH_HELPERS
#include "core/bench_replicate.h"
#endif
#include "core/bearer_authn.h"
#include "core/callback_flow.h"
#include "core/dpop_proof_handler.h"
#include "core/identity.h"
#include "core/login_flow.h"
#include "core/logout_flow.h"
#include "core/security_profile.h"
#include "core/session_authn.h"
#include "core/session_cookie.h"
#include "httpd/authz.h"
#include "httpd/config.h"
#include "httpd/guard.h"
#include "httpd/jwks_handler.h"
#include "httpd/module.h"
#include "httpd/request_adapter.h"
#include "httpd/request_record.h"
#include "httpd/runtime.h"
#include "httpd/status_handler.h"

namespace coinpay::httpd {
namespace {

constexpr char kAuthType[] = "coinpay";
constexpr char kBearerAuthType[] = "coinpay-bearer";
#ifdef COINPAY_BENCH_HELPERS
constexpr char kBenchFloorAuthType[] = "coinpay-bench-floor";
#endif

// What this location asks for (core/site_config.h): the providers it names with
// CoinpayUseProvider (none: the server's first, FirstProviderOf).
LocationOptions OptionsOf(const DirConfig& dir) { return LocationOptionsOf(dir); }

ProviderClient* FirstProviderOf(const VhostState& rt, const LocationOptions& options) {
  return options.providers.empty() ? rt.first : rt.Named(options.providers.front());
}

// A Site for this request, served by `provider`, able to reach the server's other providers.
Site SiteServedBy(VhostState& rt, ProviderClient& provider, LogSink& log) {
  return Site{provider,
              rt.session_config,
              *rt.sessions,
              ProcessClock(),
              ProcessRandom(),
              log,
              [&rt](const std::string& name) { return rt.Named(name); }};
}

// The provider that serves a handler: for the callback, the one whose redirect URI this is;
// otherwise the first the location names.
ProviderClient* HandlerProvider(request_rec* r, const VhostState& rt, bool callback) {
  if (callback && r->parsed_uri.path != nullptr) {
    for (const auto& [name, client] : rt.providers) {
      if (client->config().login_enabled && client->config().redirect_path == r->parsed_uri.path) {
        return client.get();
      }
    }
  }
  return FirstProviderOf(rt, OptionsOf(DirConfigOf(r)));
}

int NotConfigured(request_rec* r, int tag) {
  ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                "CPA%05d: this virtual host has no CoinpayIssuer / CoinpayClientID configured, "
                "but a location uses mod_coinpay_auth",
                tag);
  return HTTP_INTERNAL_SERVER_ERROR;
}

bool IsCorsPreflight(request_rec* r) {
  return r->method_number == M_OPTIONS && apr_table_get(r->headers_in, "Origin") != nullptr &&
         apr_table_get(r->headers_in, "Access-Control-Request-Method") != nullptr;
}

int CheckBearer(request_rec* r) {
  return Guarded(r, 914, [&] {
    const DirConfig& dir = DirConfigOf(r);
    if (dir.pass_preflight.value && IsCorsPreflight(r)) {
      // A preflight carries no credentials by design (Fetch standard); the request that
      // follows it is checked as usual.
      r->user = const_cast<char*>("");
      MarkPreflight(r);
      return static_cast<int>(OK);
    }
    VhostState* rt = VhostStateOf(r->server);
    if (rt == nullptr) {
      return NotConfigured(r, 915);
    }
    RequestLog log(r);
    ProviderClient* provider = rt->Named("");
    if (provider == nullptr) {
      return NotConfigured(r, 917);
    }
    RequestView view = ViewOf(r);
    BearerDPoP dpop;
    const DPoPMode mode = EffectiveBearerDPoP(rt->bearer, dir.bearer_dpop.value);
    if (mode != DPoPMode::kOff) {
      // Only here: a location without DPoP reads no DPoP header and touches no store.
      dpop.mode = mode;
      dpop.replay = &rt->sessions->store();
      view.dpop = DPoPHeaderOf(r);
    }
    Action a = AuthenticateBearer(*provider, *rt->token_cache, ProcessClock(), log, view,
                                  rt->bearer, dpop);
    if (a.kind == Action::Kind::kAllow) {
      RememberClaims(r, a.shared_identity, true);
      ApplyIdentity(r, dir, a.who());
      r->ap_auth_type = const_cast<char*>(kBearerAuthType);
      return static_cast<int>(OK);
    }
    return Respond(r, a);
  });
}

// A JSON answer written as it is, errors too (never replaced by an error document): for the
// provider (back-channel logout) and the application (DPoP proofs).
int RespondJson(request_rec* r, const Action& a) {
  r->status = a.status;
  ap_set_content_type(r, "application/json");
  for (const auto& [name, value] : a.headers) {
    apr_table_set(r->headers_out, name.c_str(), value.c_str());
  }
  ap_rputs(a.body.c_str(), r);
  return static_cast<int>(OK);
}

int CheckAuthn(request_rec* r) {
  const char* type = ap_auth_type(r);
  if (type == nullptr) {
    return DECLINED;
  }
  if (strcasecmp(type, kBearerAuthType) == 0) {
    return CheckBearer(r);
  }
  if (strcasecmp(type, kAuthType) != 0) {
#ifdef COINPAY_BENCH_HELPERS
    // The bench's floor (bench/README.md): what httpd itself costs for an authenticated
    // location, with an authentication that does nothing. Never in a normal build.
    if (strcasecmp(type, kBenchFloorAuthType) == 0) {
      r->user = const_cast<char*>("bench-floor");
      return OK;
    }
#endif
    return DECLINED;
  }
  return Guarded(r, 910, [&] {
    VhostState* rt = VhostStateOf(r->server);
    const DirConfig& dir = DirConfigOf(r);
    LocationOptions options;
    ProviderClient* provider = nullptr;
    if (rt != nullptr) {
      options = OptionsOf(dir);
      provider = FirstProviderOf(*rt, options);
    }
    if (rt == nullptr || !rt->login || provider == nullptr) {
      return NotConfigured(r, 911);
    }
    RequestLog log(r);
    Site site = SiteServedBy(*rt, *provider, log);
    RequestView view = ViewOf(r);
    // The Cookie header is parsed once: the fixups hook strips what is found here.
    RequestRecord& record = RequestRecordOf(r);
    record.cookie_header = view.cookie.data();
    record.cookies = FindModuleCookies(rt->session_config, view.cookie);
    view.module_cookies = &record.cookies;
    if (!record.cookies.session_ids.empty()) {
      view.session_hint = &ConnectionSessionHint(r->connection);
    }
    Action a = AuthenticateSession(site, view, options);
    if (a.status >= 300 && a.status < 400) {
      WarnIfSignInLooksElsewhere(r, view, provider->config());  // a sign-in starts here
    }
    if (a.kind == Action::Kind::kAllow) {
      RememberClaims(r, a.shared_identity, false);
      ApplyIdentity(r, dir, a.who());
      return static_cast<int>(OK);
    }
    return Respond(r, a);
  });
}

// Every request to a server that uses the module, protected or not, loses the headers that
// could pass for identity we set: an unprotected CGI must not trust a client's claim either.
int ScrubHeaders(request_rec* r) {
  if (VhostStateOf(r->server) != nullptr) {
    ScrubIdentityHeaders(r);
  }
  return DECLINED;
}

// kBenchReplicate exists only in a bench build (-DCOINPAY_BENCH_HELPERS=ON,
// core/bench_replicate.h).
enum class Handler {
  kNone,
  kJwks,
  kStatus,
  kLogin,
  kCallback,
  kLogout,
  kBackchannelLogout,
  kDPoPProof,
  kBenchReplicate
};
Handler HandlerOf(const char* name);

// After authentication and before any content handler (CGI, proxy, files), every request to a
// server that uses the module loses the module's cookies, protected location or not. Only
// the module's own handlers, which read them, keep them.
int StripCookiesForApplication(request_rec* r) {
  VhostState* rt = VhostStateOf(r->server);
  const Handler which = rt != nullptr ? HandlerOf(r->handler) : Handler::kNone;
  // The status page and the JWKS read no cookie either.
  if (rt != nullptr &&
      (which == Handler::kNone || which == Handler::kJwks || which == Handler::kStatus)) {
    StripModuleCookies(r, rt->session_config);
  }
  return DECLINED;
}

constexpr apr_size_t kMaxFormBody = apr_size_t{64} * 1024;

// Reads a small request body; nullopt when it is larger than `limit` or cannot be read.
std::optional<std::string> ReadBody(request_rec* r, apr_size_t limit) {
  if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK || !ap_should_client_block(r)) {
    return std::string();
  }
  std::string body;
  char buf[8192];
  long n = 0;
  while ((n = ap_get_client_block(r, buf, sizeof(buf))) > 0) {
    body.append(buf, static_cast<size_t>(n));
    if (body.size() > limit) {
      return std::nullopt;
    }
  }
  if (n < 0) {
    return std::nullopt;
  }
  return body;
}

Handler HandlerOf(const char* name) {
  // Asked twice per request (fixups, handler); most requests' handlers are someone else's.
  if (name == nullptr || strncmp(name, "coinpay-", 8) != 0) {
    return Handler::kNone;
  }
  if (strcmp(name, "coinpay-login") == 0) {
    return Handler::kLogin;
  }
  if (strcmp(name, "coinpay-jwks") == 0) {
    return Handler::kJwks;
  }
  if (strcmp(name, "coinpay-status") == 0) {
    return Handler::kStatus;
  }
  if (strcmp(name, "coinpay-callback") == 0) {
    return Handler::kCallback;
  }
  if (strcmp(name, "coinpay-logout") == 0) {
    return Handler::kLogout;
  }
  if (strcmp(name, "coinpay-backchannel-logout") == 0) {
    return Handler::kBackchannelLogout;
  }
  if (strcmp(name, "coinpay-dpop-proof") == 0) {
    return Handler::kDPoPProof;
  }
#ifdef COINPAY_BENCH_HELPERS
  if (strcmp(name, "coinpay-bench-replicate") == 0) {
    return Handler::kBenchReplicate;
  }
#endif
  return Handler::kNone;
}

int HandleRequest(request_rec* r) {
  // One handler hook for all of the module's handlers: every request asks it, most for
  // someone else's handler.
  Handler which = HandlerOf(r->handler);
  if (which == Handler::kNone) {
    return DECLINED;
  }
  if (which == Handler::kJwks) {
    return HandleJwks(r);
  }
  if (which == Handler::kStatus) {
    return HandleStatus(r);
  }
  return Guarded(r, 912, [&] {
    // The provider POSTs logout tokens; everything else is a browser following a link (HEAD
    // arrives as M_GET too), and logout's confirmation page POSTs back to it.
    apr_int64_t methods = AP_METHOD_BIT << M_GET;
    if (which == Handler::kBackchannelLogout || which == Handler::kDPoPProof ||
        which == Handler::kBenchReplicate) {
      methods = AP_METHOD_BIT << M_POST;
    } else if (which == Handler::kLogout) {
      methods |= AP_METHOD_BIT << M_POST;
    }
    if ((methods & (AP_METHOD_BIT << r->method_number)) == 0) {
      r->allowed = methods;
      r->allowed_methods->method_mask = methods;  // what the Allow header is made from
      return static_cast<int>(HTTP_METHOD_NOT_ALLOWED);
    }
    VhostState* rt = VhostStateOf(r->server);
    ProviderClient* provider =
        rt != nullptr ? HandlerProvider(r, *rt, which == Handler::kCallback) : nullptr;
    if (rt == nullptr || !rt->login || provider == nullptr || !provider->config().login_enabled) {
      return NotConfigured(r, 913);
    }
    RequestLog log(r);
    Site site = SiteServedBy(*rt, *provider, log);
    RequestView view = ViewOf(r);
    if (which == Handler::kLogin || which == Handler::kCallback) {
      WarnIfSignInLooksElsewhere(r, view, provider->config());
    }
    Action a;
    switch (which) {
      case Handler::kLogin:
        a = HandleLoginRequest(site, view);
        break;
      case Handler::kCallback:
        a = HandleCallback(site, view);
        break;
      case Handler::kLogout: {
        std::optional<std::string> body;
        if (r->method_number == M_POST) {
          body = ReadBody(r, kMaxFormBody);
          if (!body) {
            return static_cast<int>(HTTP_REQUEST_ENTITY_TOO_LARGE);
          }
          view.form_body = *body;
        }
        a = HandleLogout(site, view);
        if (a.status == 200) {
          // The confirmation page is content, not an error document.
          for (const auto& [name, value] : a.headers) {
            apr_table_set(r->headers_out, name.c_str(), value.c_str());
          }
          ap_set_content_type(
              r, apr_pstrmemdup(r->pool, a.content_type.data(), a.content_type.size()));
          if (!r->header_only) {
            ap_rputs(a.body.c_str(), r);
          }
          return static_cast<int>(OK);
        }
        break;
      }
      case Handler::kBackchannelLogout: {
        auto body = ReadBody(r, kMaxFormBody);
        if (!body) {
          return static_cast<int>(HTTP_REQUEST_ENTITY_TOO_LARGE);
        }
        // Provider-facing JSON, also for errors.
        return RespondJson(r, HandleBackchannelLogout(site, *body));
      }
      case Handler::kDPoPProof: {
        auto body = ReadBody(r, kMaxFormBody);
        if (!body) {
          return static_cast<int>(HTTP_REQUEST_ENTITY_TOO_LARGE);
        }
        view.form_body = *body;
        // JSON for the application, also for refusals.
        return RespondJson(r, HandleDPoPProof(site, view));
      }
      case Handler::kBenchReplicate: {
#ifdef COINPAY_BENCH_HELPERS
        auto body = ReadBody(r, kMaxFormBody);
        if (!body) {
          return static_cast<int>(HTTP_REQUEST_ENTITY_TOO_LARGE);
        }
        view.form_body = *body;
        return RespondJson(r, HandleBenchReplicate(site, view));
#else
        return static_cast<int>(DECLINED);  // HandlerOf never answers it in a normal build
#endif
      }
      case Handler::kNone:
      case Handler::kJwks:
      case Handler::kStatus:
        return static_cast<int>(DECLINED);  // answered above
    }
    return Respond(r, a);
  });
}

int CheckConfigHook(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp, server_rec* s) {
  try {
    return CheckConfig(pconf, plog, ptemp, s);
  } catch (...) {
    return HTTP_INTERNAL_SERVER_ERROR;
  }
}

int PostConfigHook(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp, server_rec* s) {
  try {
    return PostConfig(pconf, plog, ptemp, s);
  } catch (const std::exception& e) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "CPA00906: startup failed: %s", e.what());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
}

void RegisterHooks(apr_pool_t* p) {
  ap_hook_check_config(CheckConfigHook, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_post_config(PostConfigHook, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_header_parser(ScrubHeaders, nullptr, nullptr, APR_HOOK_REALLY_FIRST);
  ap_hook_fixups(StripCookiesForApplication, nullptr, nullptr, APR_HOOK_REALLY_LAST);
  ap_hook_check_authn(CheckAuthn, nullptr, nullptr, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
  ap_hook_handler(HandleRequest, nullptr, nullptr, APR_HOOK_MIDDLE);
  // Before mod_authz_core (which may itself hook in early), so a failing precheck answers 403.
  ap_hook_check_authz(PrecheckAuthz, nullptr, nullptr, APR_HOOK_REALLY_FIRST,
                      AP_AUTH_INTERNAL_PER_CONF);
  RegisterAuthzProviders(p);
}

}  // namespace
}  // namespace coinpay::httpd

extern "C" {
// The build hides every symbol but this one, which httpd looks up by name.
__attribute__((visibility("default"))) module AP_MODULE_DECLARE_DATA coinpay_auth_module = {
    STANDARD20_MODULE_STUFF,           coinpay::httpd::CreateDirConfig,
    coinpay::httpd::MergeDirConfig,    coinpay::httpd::CreateServerConfig,
    coinpay::httpd::MergeServerConfig, coinpay::httpd::kCommands,
    coinpay::httpd::RegisterHooks,     AP_MODULE_FLAG_NONE,
};
}
