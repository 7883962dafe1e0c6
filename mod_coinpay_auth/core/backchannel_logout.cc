// Back-channel logout: JSON answers for the provider, never a page.
#include "core/backchannel_logout.h"

#include "core/token_verifier.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/log.h"

namespace coinpay {
namespace {

constexpr char kEvent[] = "http://schemas.openid.net/event/backchannel-logout";
constexpr int64_t kJtiMemorySeconds = int64_t{24} * 3600;  // replays within a day are refused

Action Answer(int status, std::string_view error = {}) {
  Action a;
  a.status = status;
  a.headers.emplace_back("Cache-Control", "no-store");
  a.content_type = "application/json";
  a.body = error.empty() ? "{}\n" : "{\"error\":\"" + std::string(error) + "\"}\n";
  return a;
}

}  // namespace

Status CheckLogoutTokenShape(const Json& claims) {
  Json events = claims.Get("events");
  if (!events.IsObject() || !events.Get(kEvent).IsObject()) {
    return Error{Errc::kMissingClaim, "logout token lacks the back-channel logout event"};
  }
  if (!claims.Get("nonce").IsNull()) {
    return Error{Errc::kBadInput, "logout token carries a nonce"};
  }
  if (!claims.GetString("sub") && !claims.GetString("sid")) {
    return Error{Errc::kMissingClaim, "logout token has neither sub nor sid"};
  }
  if (!claims.GetString("jti")) {
    return Error{Errc::kMissingClaim, "logout token has no jti"};
  }
  return OkStatus();
}

Action HandleBackchannelLogout(Site& site, std::string_view form_body) {
  const ProviderConfig& p = site.provider.config();
  auto params = ParseQuery(form_body);
  std::string token;
  int seen = 0;
  if (params) {
    for (auto& [name, value] : *params) {
      if (name == "logout_token") {
        token = value;
        ++seen;
      }
    }
  }
  if (seen != 1 || token.empty()) {
    LogAt(site.log, LogLevel::kInfo, 180, "back-channel logout without one logout_token refused");
    return Answer(400, "invalid_request");
  }
  int64_t now = site.clock.NowSeconds();
  auto jwt = VerifyToken(site.provider, token, TokenKind::kLogoutToken, {}, now);
  Status st = jwt ? Status(Ok{}) : Status(jwt.error());
  if (jwt) {
    st = CheckLogoutTokenShape(jwt->claims);
    int64_t iat = jwt->claims.GetInt("iat").value_or(0);
    if (st && iat < now - kJtiMemorySeconds) {
      st = Error{Errc::kExpired, "logout token issued too long ago"};
    }
  }
  if (!st) {
    LogAt(site.log, LogLevel::kInfo, 181,
          std::string("logout token refused (") + ErrcName(st.code()) + "): " + st.error().detail);
    return Answer(400, "invalid_request");
  }
  std::string material = "logout-jti";
  material.append(1, '\0').append(p.issuer).append(1, '\0').append(*jwt->claims.GetString("jti"));
  std::string jti_key = Sha256(material);
  // Sessions end first and the jti is remembered after: when the store fails in between, the
  // provider's retry is not mistaken for a replay and ends them then.
  auto replayed = site.sessions.store().Exists(jti_key, now);
  if (!replayed) {
    site.provider.CountStoreError();
    LogAt(site.log, LogLevel::kError, 182, "session store unavailable: " + replayed.error().detail);
    return Answer(503, "temporarily_unavailable");
  }
  if (*replayed) {
    LogAt(site.log, LogLevel::kWarn, 183, "replayed logout token refused");
    return Answer(400, "invalid_request");
  }
  auto sid = jwt->claims.GetString("sid");
  auto ended = sid ? site.sessions.DestroyBySid(p, *sid, now)
                   : site.sessions.DestroyBySub(p, *jwt->claims.GetString("sub"), now);
  if (!ended) {
    site.provider.CountStoreError();
    LogAt(site.log, LogLevel::kError, 184, "session store unavailable: " + ended.error().detail);
    return Answer(503, "temporarily_unavailable");
  }
  // Two deliveries of one token at once both end the sessions; either may record the jti.
  auto recorded = site.sessions.store().Add(jti_key, "1", now + kJtiMemorySeconds, now);
  if (!recorded) {
    site.provider.CountStoreError();
    LogAt(site.log, LogLevel::kError, 186,
          "session store unavailable after the sessions ended: " + recorded.error().detail);
    return Answer(503, "temporarily_unavailable");
  }
  site.provider.Count(Metric::kSessionEndedBackchannel, static_cast<uint64_t>(*ended));
  LogAt(site.log, LogLevel::kInfo, 185,
        "back-channel logout ended " + std::to_string(*ended) + " session(s)");
  return Answer(200);
}

}  // namespace coinpay
