// Logout never fails for the user: a provider that cannot be reached is logged, and the local
// session is destroyed regardless.
#include "core/logout_flow.h"

#include <optional>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/log.h"
#include "core/pages.h"
#include "core/redirect_guard.h"
#include "core/session_cookie.h"
#include "core/session_refresh.h"
#include "core/token_client.h"

namespace coinpay {
namespace {

constexpr char kTokenField[] = "csrf";

// Browsers send Sec-Fetch-Site on every request; old ones send none (and are let through, as
// before). "none" is a typed URL or a bookmark.
bool FromThisSite(std::string_view sec_fetch_site) {
  return sec_fetch_site.empty() || sec_fetch_site == "same-origin" ||
         sec_fetch_site == "same-site" || sec_fetch_site == "none";
}

// The confirmation page: fixed text and the token only. The form has no action, so it posts to
// this very URL (return_to included) without echoing any of it.
Action ConfirmationPage(const std::string& token) {
  Action a;
  a.status = 200;
  a.headers.emplace_back("Cache-Control", "no-store");
  a.headers.emplace_back("Content-Security-Policy", "frame-ancestors 'none'");
  a.headers.emplace_back("X-Frame-Options", "DENY");
  a.body =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Sign out?</title></head>\n<body><h1>Sign out?</h1>\n"
      "<p>Another site sent you here to sign out. Do you want to sign out?</p>\n"
      "<form method=\"post\"><input type=\"hidden\" name=\"" +
      std::string(kTokenField) + "\" value=\"" + HtmlEscape(token) +
      "\"><button type=\"submit\">Sign out</button></form>\n"
      "<p><a href=\"/\">Stay signed in</a></p></body></html>\n";
  return a;
}

// True when the POSTed form carries exactly one token and it is this session's.
bool TokenMatches(std::string_view form_body, const std::string& expected) {
  auto form = ParseQuery(form_body);
  if (!form || expected.empty()) {
    return false;
  }
  const std::string* got = nullptr;
  for (const auto& [name, value] : *form) {
    if (name == kTokenField) {
      if (got != nullptr) {
        return false;
      }
      got = &value;
    }
  }
  return got != nullptr && ConstantTimeEquals(*got, expected);
}

using LoadedSession = Result<std::optional<Sessions::Loaded>>;

std::string SessionIdOf(const LoadedSession& loaded) {
  return loaded && loaded->has_value() ? (*loaded)->id.str() : std::string();
}

Action SignOut(Site& site, const RequestView& req, const LoadedSession& loaded) {
  const SessionConfig& c = site.session_config;
  const ProviderConfig& p = site.provider.config();
  std::string target = c.post_logout_url;
  auto params = ParseQuery(req.query);
  if (params) {
    for (const auto& [name, value] : *params) {
      if (name == "return_to") {
        auto safe = SafeRedirectTarget(value, p.redirect_origin, c.allowed_redirect_origins);
        if (safe) {
          target = *safe;
        } else {
          LogAt(site.log, LogLevel::kInfo, 140, "logout return_to refused as unsafe");
        }
      }
    }
  }
  int64_t now = site.clock.NowSeconds();
  std::string id_token_hint;
  if (!loaded) {
    LogAt(site.log, LogLevel::kError, 141,
          "session store unavailable during logout: " + loaded.error().detail);
  } else if (loaded->has_value()) {
    SessionRecord s = (*loaded)->record;
    ProviderClient* by = site.ProviderNamed(s.provider);
    if (by != nullptr && by->config().revocation_auth == RevocationAuth::kBearer &&
        !s.refresh_token.empty() && s.access_expires_at != 0 && now >= s.access_expires_at) {
      // Revocation authenticated by the access token needs a live one: refresh first (as a
      // single flight), so the refresh token does not outlive the logout.
      Site for_provider = site.With(*by);
      auto fresh = RefreshSession(for_provider, **loaded);
      if (fresh) {
        s = std::move(*fresh);
      }
    }
    if (by != nullptr && !s.refresh_token.empty()) {
      auto revoked = RevokeToken(*by, s.refresh_token, "refresh_token", s.access_token);
      if (!revoked) {
        LogAt(site.log, LogLevel::kWarn, 142,
              "refresh token revocation failed: " + revoked.error().detail);
      }
    }
    if (by == &site.provider) {
      id_token_hint = s.id_token;  // end-session only at the provider this handler serves
    }
    (void)site.sessions.Destroy((*loaded)->id);
    (by != nullptr ? *by : site.provider).Count(Metric::kSessionEndedLogout);
    LogAt(site.log, LogLevel::kInfo, 143, "signed out sub=" + Untrusted(s.sub, 128));
  }
  if (!p.provider_logout_return.empty() && !id_token_hint.empty()) {
    auto meta = site.provider.Metadata();
    if (meta && !(*meta)->end_session_endpoint.empty()) {
      auto state = RandomToken(site.random, 16);
      Params q = {{"id_token_hint", id_token_hint},
                  {"client_id", p.client_id},
                  {"post_logout_redirect_uri", p.provider_logout_return},
                  {"state", state.value_or("")}};
      const std::string& ep = (*meta)->end_session_endpoint;
      target = ep + (ep.find('?') == std::string::npos ? "?" : "&") + EncodeForm(q);
    }
  }
  Action a = Action::Redirect(target);
  a.set_cookies.push_back(DeleteSessionCookie(c, req.https));
  a.headers.emplace_back("Cache-Control", "no-store");
  return a;
}

}  // namespace

std::string LogoutConfirmationToken(const SessionConfig& config, std::string_view session_id) {
  if (!config.sealer) {
    return {};
  }
  std::string key = config.sealer->DeriveKey("logout-confirmation");
  if (key.empty()) {
    return {};
  }
  std::string mac = HmacSha256(key, std::string("logout/").append(session_id));
  SecureWipe(key);
  return Base64UrlEncode(mac);
}

Action HandleLogout(Site& site, const RequestView& req) {
  auto loaded = site.sessions.Load(req.cookie, site.clock.NowSeconds());
  if (req.method == "POST") {
    if (!TokenMatches(req.form_body,
                      LogoutConfirmationToken(site.session_config, SessionIdOf(loaded)))) {
      LogAt(site.log, LogLevel::kInfo, 145, "logout POST without this session's token (403)");
      return ErrorPage(ErrorKind::kLogoutRefused, 403, "Sign-out not confirmed",
                       "This sign-out request did not come from this site's sign-out page. "
                       "You are still signed in.");
    }
  } else if (!FromThisSite(req.sec_fetch_site)) {
    LogAt(site.log, LogLevel::kInfo, 144,
          "logout link followed from another site: confirmation asked");
    return ConfirmationPage(LogoutConfirmationToken(site.session_config, SessionIdOf(loaded)));
  }
  return SignOut(site, req, loaded);
}

}  // namespace coinpay
