// Logout never fails for the user: a provider that cannot be reached is logged, and the local
// session is destroyed regardless.
#include "core/logout_flow.h"

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/log.h"
#include "core/pages.h"
#include "core/redirect_guard.h"
#include "core/session_cookie.h"
#include "core/session_refresh.h"
#include "core/token_client.h"

namespace coinpay {

Action HandleLogout(Site& site, const RequestView& req) {
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
  auto loaded = site.sessions.Load(req.cookie, now);
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
    LogAt(site.log, LogLevel::kInfo, 143, "signed out sub=" + s.sub.substr(0, 128));
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

}  // namespace coinpay
