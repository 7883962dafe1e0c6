// The per-request path for signed-in users: one store lookup, no JSON, no crypto but a hash.
#include "core/session_authn.h"

#include "core/encoding.h"
#include "core/log.h"
#include "core/login_flow.h"
#include "core/pages.h"
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

Action AuthenticateSession(Site& site, const RequestView& req, const LocationOptions& options) {
  int64_t now = site.clock.NowSeconds();
  auto loaded = site.sessions.Load(req.cookie, now);
  if (!loaded) {
    LogAt(site.log, LogLevel::kError, 150, "session store unavailable: " + loaded.error().detail);
    return ErrorPage(503, "Service unavailable",
                     "Sessions cannot be checked right now. Please try again shortly.");
  }
  if (loaded->has_value() && (*loaded)->record.provider != site.provider.config().name) {
    loaded->reset();  // signed in with another provider: not a session for this location
  }
  if (loaded->has_value()) {
    const SessionRecord& r = (*loaded)->record;
    bool too_old = options.max_age_seconds > 0 && now >= r.created_at + options.max_age_seconds;
    bool too_idle = options.idle_timeout_seconds > 0 &&
                    now >= r.last_seen_at + options.idle_timeout_seconds;
    if (too_old || too_idle) {
      LogAt(site.log, LogLevel::kDebug, 152, "session too old or idle for this location");
      loaded->reset();
    }
  }
  if (loaded->has_value() && NeedsRefresh((*loaded)->record, now,
                                          site.provider.config().refresh_before_seconds)) {
    auto refreshed = RefreshSession(site, **loaded);
    if (refreshed) {
      (*loaded)->record = std::move(*refreshed);
    } else if (refreshed.code() == Errc::kInvalidGrant) {
      loaded->reset();  // the provider ended it: sign in again
    } else if (!(site.session_config.continue_on_refresh_failure &&
                 (*loaded)->record.access_expires_at > now)) {
      return ErrorPage(502, "Sign-in provider unavailable",
                       "Your session could not be renewed right now. Please try again shortly.");
    }
  }
  if (loaded->has_value()) {
    SessionRecord& s = (*loaded)->record;
    Identity id;
    id.user = std::move(s.user);
    id.claims = std::move(s.claims);
    id.claims_json = std::move(s.claims_json);
    id.access_token = std::move(s.access_token);
    id.access_token_expires_at = s.access_expires_at;
    return Action::Allow(std::move(id));
  }
  bool redirect = options.unauthenticated == LocationOptions::Unauthenticated::kLogin ||
                  (options.unauthenticated == LocationOptions::Unauthenticated::kAuto &&
                   IsBrowserNavigation(req));
  if (redirect) {
    return StartLogin(site, req, req.unparsed_uri);
  }
  LogAt(site.log, LogLevel::kDebug, 151, "no session; 401 for a non-navigation request");
  Action a = ErrorPage(401, "Sign-in required", "Please sign in to continue.");
  a.headers.emplace_back("WWW-Authenticate", "Coinpay realm=\"sign-in\"");
  return a;
}

}  // namespace coinpay
