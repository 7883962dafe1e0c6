// Opaque bearer tokens: RFC 7662 introspection with the client's credentials.
#include "core/opaque_bearer.h"

#include <algorithm>

#include "core/claims_policy.h"
#include "core/encoding.h"
#include "core/log.h"
#include "core/token_client.h"

namespace coinpay {
namespace {

// Caps how long an introspection result is trusted, so a revoked opaque token stops working
// within this time even when its exp is far away.
constexpr int64_t kIntrospectionCacheSeconds = 60;

}  // namespace

Action AuthenticateOpaque(ProviderClient& provider, VerifiedTokenCache& cache, int64_t now,
                          LogSink& log, std::string_view token, const BearerConfig& config) {
  const ProviderConfig& p = provider.config();
  auto meta = provider.Metadata();
  if (!meta) {
    LogAt(log, LogLevel::kError, 168, "cannot check opaque bearer tokens: " + meta.error().detail);
    return BearerUnavailable(config);
  }
  if ((*meta)->introspection_endpoint.empty() || !p.login_enabled) {
    LogAt(log, LogLevel::kInfo, 165,
          "opaque bearer token refused: no introspection endpoint or client credentials");
    return BearerChallenge(config, "invalid_token", "Only JWT access tokens are accepted here");
  }
  auto result = Introspect(provider, std::string(token));
  if (!result) {
    LogAt(log, LogLevel::kError, 166, "token introspection failed: " + result.error().detail);
    return BearerUnavailable(config);
  }
  const Json& info = *result;
  Status checked = OkStatus();
  if (!info.Get("active").AsBool()) {
    checked = Error{Errc::kExpired, "token is not active"};
  } else {
    ClaimsPolicy policy;
    policy.issuer = p.issuer;
    policy.audiences = config.audiences;
    policy.leeway_seconds = p.leeway_seconds;
    policy.require_exp = true;
    // RFC 7662 makes iss and aud optional in the answer; when given they must fit.
    Json probe = Json::Object();
    for (const std::string& key : info.Keys()) {
      probe.Set(key, info.Get(key));
    }
    if (probe.Get("iss").IsNull()) {
      probe.Set("iss", Json::String(p.issuer));
    }
    if (probe.Get("aud").IsNull() && !config.audiences.empty()) {
      checked = Error{Errc::kAudienceMismatch, "introspection names no audience"};
    } else {
      checked = CheckClaims(probe, policy, now);
    }
  }
  if (!checked) {
    LogAt(log, LogLevel::kInfo, 167,
          std::string("opaque bearer token refused (") + ErrcName(checked.code()) + ") " +
              TokenHint(token));
    return BearerChallenge(config, "invalid_token", BearerErrorDescription(checked.code()));
  }
  auto id = BearerIdentity(p, info);
  int64_t exp = info.GetInt("exp").value_or(now);
  cache.Insert(token, id, std::min(exp, now + kIntrospectionCacheSeconds), now);
  return Action::Allow(*id);
}

}  // namespace coinpay
