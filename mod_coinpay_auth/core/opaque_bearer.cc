// Opaque bearer tokens: the remembered verdict, else one introspection within the budget.
#include "core/opaque_bearer.h"

#include <algorithm>

#include "core/claims_policy.h"
#include "core/dpop_proof.h"
#include "core/encoding.h"
#include "core/identity.h"
#include "core/log.h"
#include "core/saturating.h"
#include "core/token_client.h"

namespace coinpay {
namespace {

using Answer = IntrospectionCache::Answer;

// Caps how long an introspection result is trusted, so a revoked opaque token stops working
// within this time even when its exp is far away.
constexpr int64_t kIntrospectionCacheSeconds = 60;
// How long a refusal is remembered: a client repeating a dead or garbage token is answered
// from memory, and a token cannot come back to life within this time anyway.
constexpr int64_t kRefusalCacheSeconds = 60;

constexpr char kNotActive[] = "The access token is not active";

Answer Refusal(LogSink& log, std::string_view token, std::string_view why, const char* description,
               int64_t remember_until) {
  LogAt(log, LogLevel::kInfo, 167,
        "opaque bearer token refused (" + std::string(why) + ") " + TokenHint(token));
  return Answer{IntrospectionVerdict::Refused(description), remember_until};
}

// One call to the provider about a token this process has no verdict for.
Answer AskProvider(ProviderClient& provider, IntrospectionCache& known, int64_t now, LogSink& log,
                   std::string_view token, const BearerConfig& config) {
  const ProviderConfig& p = provider.config();
  auto meta = provider.Metadata();
  if (!meta) {
    LogAt(log, LogLevel::kError, 168, "cannot check opaque bearer tokens: " + meta.error().detail);
    return Answer{};
  }
  if ((*meta)->introspection_endpoint.empty() || !p.login_enabled) {
    LogAt(log, LogLevel::kInfo, 165,
          "opaque bearer token refused: no introspection endpoint or client credentials");
    return Answer{IntrospectionVerdict::Refused("Only JWT access tokens are accepted here"),
                  now + kRefusalCacheSeconds};
  }
  TokenBucket::Take take = known.budget().TryTake(now);
  if (!take.granted) {
    if (take.first_refusal) {
      LogAt(log, LogLevel::kWarn, 260,
            "too many unknown opaque bearer tokens: introspection is limited to " +
                std::to_string(known.budget().per_second()) + "/s (burst " +
                std::to_string(known.budget().burst()) +
                ") per process; answering 503 until the rate drops (logged once per burst)");
    }
    return Answer{};
  }
  auto result = Introspect(provider, std::string(token));
  if (!result) {
    provider.Count(Metric::kIntrospectionFailed);
    LogAt(log, LogLevel::kError, 166, "token introspection failed: " + result.error().detail);
    return Answer{};
  }
  const Json& info = *result;
  int64_t refusal_until = now + kRefusalCacheSeconds;
  provider.Count(info.Get("active").AsBool() ? Metric::kIntrospectionActive
                                             : Metric::kIntrospectionInactive);
  if (!info.Get("active").AsBool()) {
    return Refusal(log, token, "not active", kNotActive, refusal_until);
  }
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
  Status checked = OkStatus();
  if (probe.Get("aud").IsNull() && !config.audiences.empty()) {
    checked = Error{Errc::kAudienceMismatch, "introspection names no audience"};
  } else {
    checked = CheckClaims(probe, policy, now);
  }
  if (checked) {
    if (auto bound = BoundJktOf(info); !bound) {
      checked = Error{Errc::kBadInput, bound.error().detail};
    }
  }
  if (!checked) {
    // A token not valid yet will be soon: only that refusal is not remembered.
    int64_t until = checked.code() == Errc::kNotYetValid ? 0 : refusal_until;
    return Refusal(log, token, ErrcName(checked.code()), BearerErrorDescription(checked.code()),
                   until);
  }
  auto id = IdentityFromTokenClaims(p, info);
  int64_t exp = info.GetInt("exp").value_or(now);
  // Trusted as long as it was accepted (exp + leeway, as for JWTs), at most a minute.
  return Answer{IntrospectionVerdict::Allowed(std::move(id)),
                std::min(SaturatingAdd(exp, p.leeway_seconds), now + kIntrospectionCacheSeconds)};
}

}  // namespace

IntrospectionVerdict ResolveOpaque(ProviderClient& provider, VerifiedTokenCache& cache, int64_t now,
                                   LogSink& log, std::string_view token,
                                   const BearerConfig& config) {
  IntrospectionCache& known = cache.introspection();
  return known.Resolve(token, now,
                       [&] { return AskProvider(provider, known, now, log, token, config); });
}

Action AuthenticateOpaque(ProviderClient& provider, VerifiedTokenCache& cache, int64_t now,
                          LogSink& log, std::string_view token, const BearerConfig& config) {
  IntrospectionVerdict verdict = ResolveOpaque(provider, cache, now, log, token, config);
  switch (verdict.kind) {
    case IntrospectionVerdict::Kind::kAllowed:
      provider.Count(Metric::kBearerAccepted);
      return Action::Allow(verdict.identity);
    case IntrospectionVerdict::Kind::kRefused:
      provider.Count(Metric::kBearerRefusedIntrospection);
      return BearerChallenge(config, "invalid_token", verdict.description);
    case IntrospectionVerdict::Kind::kUnavailable:
      break;
  }
  provider.Count(Metric::kBearerRefusedUnavailable);
  return BearerUnavailable(config);
}

}  // namespace coinpay
