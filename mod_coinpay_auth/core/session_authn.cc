// The per-request path for signed-in users: one store lookup, no JSON, no crypto but a hash.
// The provider is asked only where a live access token is needed (the application receives
// it, or the location says CoinpayRefresh always): elsewhere a session vouches for its user
// until its own idle and age limits, so a provider outage locks no one out of such pages.
#include "core/session_authn.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "core/dpop_proof_handler.h"
#include "core/encoding.h"
#include "core/identity.h"
#include "core/log.h"
#include "core/login_flow.h"
#include "core/pages.h"
#include "core/saturating.h"
#include "core/session_cookie.h"
#include "core/session_refresh.h"

namespace coinpay {

bool IsBrowserNavigation(const RequestView& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    return false;
  }
  if (!req.x_requested_with.empty()) {
    return false;
  }
  if (!req.sec_fetch_mode.empty() && !IEquals(req.sec_fetch_mode, "navigate")) {
    return false;
  }
  // A client that asks for JSON (and not HTML) is an API client.
  bool wants_json = req.accept.find("json") != std::string_view::npos;
  bool wants_html = req.accept.find("text/html") != std::string_view::npos;
  return !(wants_json && !wants_html);
}

namespace {

constexpr std::string_view kChoiceParam = "coinpay_login";

// The requested URL without our coinpay_login parameter: where the user lands after sign-in.
std::string WithoutChoice(const RequestView& req) {
  std::string out(req.path);
  auto params = ParseQuery(req.query);
  Params kept;
  if (params) {
    for (auto& kv : *params) {
      if (kv.first != kChoiceParam) {
        kept.push_back(std::move(kv));
      }
    }
  }
  if (!kept.empty()) {
    out += "?" + EncodeForm(kept);
  }
  return out;
}

// True where the location needs the access token alive, not only the session.
bool NeedsLiveToken(const LocationOptions& options) {
  return options.pass_access_token || options.refresh == LocationOptions::Refresh::kAlways;
}

// The provider's circuit breaker is open: an answer at once, and when to try again.
Action ProviderUnavailable(ProviderClient& provider) {
  Action a = ErrorPage(ErrorKind::kProviderUnavailable, 503, "Sign-in provider unavailable",
                       "Your session cannot be renewed right now. Please try again in a moment.");
  int64_t retry_after = std::max<int64_t>(1, provider.breaker().RetryAfterSeconds());
  a.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return a;
}

}  // namespace

Action ChooseProvider(Site& site, const RequestView& req, const std::vector<std::string>& names,
                      const StepUpRequest* step_up) {
  auto params = ParseQuery(req.query);
  if (params) {
    for (const auto& [key, value] : *params) {
      if (key != kChoiceParam) {
        continue;
      }
      std::string wanted = ConfiguredProviderName(value);
      ProviderClient* p = std::find(names.begin(), names.end(), wanted) != names.end()
                              ? site.ProviderNamed(wanted)
                              : nullptr;
      if (p != nullptr) {
        Site by = site.With(*p);
        return StartLogin(by, req, WithoutChoice(req), step_up);
      }
    }
  }
  // Our own text only: provider display names come from the configuration, the link is this
  // path plus a fixed parameter; nothing from the request's query is echoed.
  std::string here = HtmlEscape(req.path);
  std::string links;
  for (const std::string& name : names) {
    ProviderClient* p = site.ProviderNamed(name);
    if (p == nullptr) {
      continue;
    }
    std::string param = UrlEncode(DisplayedProviderName(name));
    links += "<li><a href=\"" + here + "?" + std::string(kChoiceParam) + "=" + HtmlEscape(param) +
             "\">Sign in with " + HtmlEscape(p->config().display_name) + "</a></li>\n";
  }
  Action a;
  a.status = 401;
  a.headers.emplace_back("Cache-Control", "no-store");
  a.headers.emplace_back("WWW-Authenticate", "Coinpay realm=\"sign-in\"");
  a.body =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Sign in</title></head>\n<body><h1>Sign in</h1>\n<ul>\n" +
      links + "</ul></body></html>\n";
  return a;
}

Action AuthenticateSession(Site& site, const RequestView& req, const LocationOptions& options) {
  if (req.session_hint == nullptr || req.module_cookies == nullptr) {
    // Without the glue's connection hint or cookies found already (a test, a subrequest):
    // both made here, for this request only.
    SessionReadHint hint;
    const ModuleCookies cookies = FindModuleCookies(site.sessions.config(), req.cookie);
    RequestView with = req;
    with.session_hint = req.session_hint != nullptr ? req.session_hint : &hint;
    with.module_cookies = req.module_cookies != nullptr ? req.module_cookies : &cookies;
    return AuthenticateSession(site, with, options);
  }
  int64_t now = site.clock.NowSeconds();
  // The record is read in place (Loaded::stored); it is copied only where this request may
  // refresh it.
  const SessionParts parts =
      NeedsLiveToken(options) ? SessionParts::kAll : SessionParts::kTimesOnly;
  // The session is kept in the connection's hint, and read from there while unchanged.
  SessionReadHint& hint = *req.session_hint;
  auto found = site.sessions.Load(req.module_cookies->session_ids.span(), now, parts, hint);
  if (!found) {
    site.provider.CountStoreError();
    LogAt(site.log, LogLevel::kError, 150, "session store unavailable: " + found.error().detail);
    return ErrorPage(ErrorKind::kServiceUnavailable, 503, "Service unavailable",
                     "Sessions cannot be checked right now. Please try again shortly.");
  }
  // Read only: the record as stored (the hint's). A refresh's new record is kept apart.
  const Sessions::Loaded* loaded = *found;
  // The location's provider names, read in place; none named: the site's provider only.
  const std::string& site_name = site.provider.config().name;
  const size_t accepted_count = options.providers.empty() ? 1 : options.providers.size();
  ProviderClient* session_provider = nullptr;
  if (loaded != nullptr) {
    const SessionView& r = *loaded->stored->view;  // Load returns only records that decode
    if (options.providers.empty()) {
      session_provider = r.provider == site_name ? &site.provider : nullptr;
    } else {
      auto named = std::find(options.providers.begin(), options.providers.end(), r.provider);
      if (named != options.providers.end()) {
        session_provider = site.ProviderNamed(*named);
      }
    }
    // The provider a session was made with must still be the one of that name here: a
    // reconfigured issuer or client id does not inherit the old sessions.
    if (session_provider != nullptr && (session_provider->config().issuer != r.issuer ||
                                        session_provider->config().client_id != r.client_id)) {
      session_provider = nullptr;
    }
    if (session_provider == nullptr) {
      loaded = nullptr;  // signed in with another provider: not a session for this location
    }
  }
  if (loaded != nullptr) {
    // The stored last_seen_at, before this request touches it.
    const SessionRecord& r = loaded->record;
    bool too_old =
        options.max_age_seconds > 0 && now >= SaturatingAdd(r.created_at, options.max_age_seconds);
    bool too_idle = options.idle_timeout_seconds > 0 &&
                    now >= SaturatingAdd(r.last_seen_at, options.idle_timeout_seconds);
    if (too_old || too_idle) {
      LogAt(site.log, LogLevel::kDebug, 152, "session too old or idle for this location");
      loaded = nullptr;
    }
  }
  // Step-up: a session whose sign-in is too weak or too old for this location stays valid
  // elsewhere, but here the user signs in again at its provider (core/step_up.h).
  ProviderClient* step_up_provider = nullptr;
  if (loaded != nullptr && options.step_up.Active()) {
    const SessionView& v = *loaded->stored->view;  // read in place, as every field here
    StepUpShortfall shortfall = ShortfallOf(options.step_up, v.acr, v.auth_time, now);
    if (shortfall.Any()) {
      LogAt(
          site.log, LogLevel::kDebug, 440,
          std::string("session's sign-in is ") +
              (shortfall.acr ? (shortfall.age ? "too weak and too old" : "too weak") : "too old") +
              " for this location; stepping up");
      step_up_provider = session_provider;
      loaded = nullptr;
    }
  }
  // Stored with last_seen_at = now. On the heap: made about once an hour, and one inline here
  // would be cleared on every request.
  std::unique_ptr<SessionRecord> refreshed_record;
  if (loaded != nullptr && NeedsLiveToken(options) &&
      NeedsRefresh(loaded->record, now, session_provider->config().refresh_before_seconds)) {
    Result<SessionRecord> refreshed = Error{Errc::kCircuitOpen, "provider calls held back"};
    // With the breaker open the refresh is not even started (no lock taken, no log line per
    // request): it could only fail.
    if (session_provider->breaker().RetryAfterSeconds() == 0) {
      Site by = site.With(*session_provider);
      refreshed = RefreshSession(by, *loaded);
    }
    if (refreshed) {
      refreshed_record = std::make_unique<SessionRecord>(std::move(*refreshed));
    } else if (refreshed.code() == Errc::kInvalidGrant) {
      loaded = nullptr;  // the provider or a logout ended it: sign in again
    } else if (site.session_config.continue_on_refresh_failure &&
               loaded->record.access_expires_at > now) {
      site.sessions.Touch(*loaded, now);
    } else if (refreshed.code() == Errc::kCircuitOpen) {
      return ProviderUnavailable(*session_provider);
    } else {
      return ErrorPage(ErrorKind::kProviderUnavailable, 502, "Sign-in provider unavailable",
                       "Your session could not be renewed right now. Please try again shortly.");
    }
  } else if (loaded != nullptr) {
    site.sessions.Touch(*loaded, now);
  }
  if (loaded != nullptr && !options.pass_access_token && refreshed_record == nullptr) {
    // The common case: nothing per request but the lookup (the record's identity is shared).
    // The connection keeps it too: nothing but a reference count for the next request.
    std::shared_ptr<const Identity>& kept = hint.identity[accepted_count > 1 ? 1 : 0];
    if (kept == nullptr) {
      kept = SharedIdentityOf(*loaded->stored, accepted_count > 1);
    }
    return Action::Allow(kept);
  }
  if (loaded != nullptr) {
    bool qualify = accepted_count > 1;
    std::shared_ptr<Identity> id =
        refreshed_record != nullptr
            ? IdentityFromSession(std::move(*refreshed_record), qualify, options.pass_access_token,
                                  now)
            : IdentityFromStoredSession(loaded->stored, qualify, options.pass_access_token, now);
    if (id->access_token_type == "DPoP") {
      // Lives as long as the token it goes with (or the session, for a token without exp).
      int64_t until = id->access_token_expires_at != 0
                          ? id->access_token_expires_at
                          : now + site.session_config.idle_timeout_seconds;
      auto handle = MakeDPoPHandle(site, loaded->id, until);
      if (handle) {
        id->dpop_handle = std::move(*handle);
      }
    }
    return Action::Allow(std::move(id));
  }
  bool redirect = options.unauthenticated == LocationOptions::Unauthenticated::kLogin ||
                  (options.unauthenticated == LocationOptions::Unauthenticated::kAuto &&
                   IsBrowserNavigation(req));
  // A sign-in started here asks for what the location needs; a session stepping up asks its
  // own provider to authenticate the user again.
  std::optional<StepUpRequest> step_up;
  if (options.step_up.Active()) {
    step_up = StepUpRequestFor(options.step_up, step_up_provider != nullptr);
  }
  if (redirect && step_up_provider != nullptr) {
    Site by = site.With(*step_up_provider);
    return StartLogin(by, req, req.unparsed_uri, &*step_up);
  }
  if (redirect && accepted_count > 1) {
    return ChooseProvider(site, req, options.providers, step_up ? &*step_up : nullptr);
  }
  if (redirect) {
    ProviderClient* p =
        site.ProviderNamed(options.providers.empty() ? site_name : options.providers.front());
    if (p == nullptr) {
      LogAt(site.log, LogLevel::kError, 153, "location names an unknown provider");
      return ErrorPage(ErrorKind::kMisconfigured, 500, "Sign-in is misconfigured",
                       "Please tell the site's operator.");
    }
    Site by = site.With(*p);
    return StartLogin(by, req, req.unparsed_uri, step_up ? &*step_up : nullptr);
  }
  if (step_up_provider != nullptr) {
    LogAt(site.log, LogLevel::kDebug, 442,
          "session's sign-in too weak or old here; 401 for a non-navigation request");
    Action a = ErrorPage(ErrorKind::kLoginRequired, 401, "Stronger sign-in required",
                         "This page needs a stronger or more recent sign-in. Please open it in "
                         "your browser to sign in again.");
    a.headers.emplace_back("WWW-Authenticate", "Coinpay realm=\"sign-in\"");
    return a;
  }
  LogAt(site.log, LogLevel::kDebug, 151, "no session; 401 for a non-navigation request");
  Action a =
      ErrorPage(ErrorKind::kLoginRequired, 401, "Sign-in required", "Please sign in to continue.");
  a.headers.emplace_back("WWW-Authenticate", "Coinpay realm=\"sign-in\"");
  return a;
}

}  // namespace coinpay
