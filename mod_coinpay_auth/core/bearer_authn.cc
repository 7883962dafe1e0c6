// Bearer authentication: the cache first, then signature and claims, then the cache again.
// Tokens that are not JWTs go to introspection (core/opaque_bearer.cc).
#include "core/bearer_authn.h"

#include <algorithm>
#include <array>

#include "core/encoding.h"
#include "core/identity.h"
#include "core/log.h"
#include "core/opaque_bearer.h"
#include "core/saturating.h"
#include "core/token_verifier.h"

namespace coinpay {
namespace {

constexpr size_t kMaxTokenChars = size_t{16} * 1024;

// RFC 6750 b64token characters, as a table: this runs over every byte of every token.
constexpr std::array<bool, 256> MakeToken68Table() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<size_t>(c)] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~' || c == '+' || c == '/' || c == '=';
  }
  return t;
}
constexpr auto kToken68 = MakeToken68Table();

bool IsToken68Char(char c) { return kToken68[static_cast<unsigned char>(c)]; }

}  // namespace

const char* BearerErrorDescription(Errc e) {
  switch (e) {
    case Errc::kExpired:
      return "The access token expired";
    case Errc::kNotYetValid:
      return "The access token is not valid yet";
    case Errc::kIssuerMismatch:
      return "The access token was issued by another issuer";
    case Errc::kAudienceMismatch:
      return "The access token is not meant for this API";
    case Errc::kMissingClaim:
      return "The access token lacks a required claim";
    case Errc::kAlgNotAllowed:
      return "The access token's algorithm is not accepted";
    case Errc::kUnknownKid:
      return "The access token was signed with an unknown key";
    case Errc::kBadSignature:
      return "The access token's signature is invalid";
    default:
      return "The access token is invalid";
  }
}

Action BearerUnavailable(const BearerConfig& config) {
  Action a = BearerChallenge(config, "", "", 503);
  a.body = "{\"error\":\"temporarily_unavailable\"}\n";
  return a;
}

namespace {
// The credentials after "<scheme> " (scheme in any case), spaces around them trimmed; "" when
// the header has another scheme or none.
std::string_view CredentialsOf(std::string_view authorization, std::string_view scheme) {
  size_t n = scheme.size();
  if (authorization.size() < n + 1 || !IEquals(authorization.substr(0, n), scheme) ||
      authorization[n] != ' ') {
    return {};
  }
  std::string_view token = authorization.substr(n + 1);
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  while (!token.empty() && token.back() == ' ') {
    token.remove_suffix(1);
  }
  return token;
}

std::string_view BearerCredentials(std::string_view authorization) {
  return CredentialsOf(authorization, "Bearer");
}

Result<std::string_view> CheckedToken(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenChars ||
      !std::all_of(token.begin(), token.end(), IsToken68Char)) {
    return Error{Errc::kBadInput, "malformed bearer token"};
  }
  return token;
}

// The token of "DPoP <token>" (RFC 9449 section 7.1), checked like a bearer token.
Result<std::string_view> DPoPTokenOf(std::string_view authorization) {
  if (authorization.size() < 5 || !IEquals(authorization.substr(0, 4), "DPoP") ||
      authorization[4] != ' ') {
    return Error{Errc::kNotFound, "no DPoP token"};
  }
  return CheckedToken(CredentialsOf(authorization, "DPoP"));
}
}  // namespace

Result<std::string_view> BearerTokenOf(std::string_view authorization) {
  if (authorization.size() < 7 || !IEquals(authorization.substr(0, 6), "Bearer") ||
      authorization[6] != ' ') {
    return Error{Errc::kNotFound, "no bearer token"};
  }
  return CheckedToken(BearerCredentials(authorization));
}

Action BearerChallenge(const BearerConfig& config, std::string_view error,
                       std::string_view description, int status, std::string_view scope) {
  Action a;
  a.status = status;
  std::string challenge = "Bearer realm=\"" + config.realm + "\"";
  if (!error.empty()) {
    challenge += ", error=\"" + std::string(error) + "\"";
    challenge += ", error_description=\"" + std::string(description) + "\"";
  }
  if (!scope.empty()) {
    challenge += ", scope=\"" + std::string(scope) + "\"";
  }
  a.headers.emplace_back("WWW-Authenticate", challenge);
  a.headers.emplace_back("Cache-Control", "no-store");
  a.content_type = "application/json";
  a.body = error.empty() ? "{\"error\":\"unauthorized\"}\n"
                         : "{\"error\":\"" + std::string(error) + "\"}\n";
  return a;
}

namespace {

std::string AlgsText(const BearerConfig& config) {
  std::string algs;
  for (const std::string& a : config.dpop_algs) {
    algs += (algs.empty() ? "" : " ") + a;
  }
  return algs;
}

// The last step for a token whose claims were accepted (verified now, from the cache or from
// introspection): whether it is bound, and if so whether this request proves the key.
Action CheckBinding(ProviderClient& provider, LogSink& log, const RequestView& req,
                    const BearerConfig& config, const BearerDPoP& dpop, bool used_dpop,
                    std::string_view token, std::shared_ptr<const Identity> id, int64_t now) {
  auto refuse = [&](int tag, const char* error, const char* description, const std::string& why) {
    provider.Count(Metric::kBearerRefusedInvalid);
    LogAt(log, LogLevel::kInfo, tag, why + " " + TokenHint(token));
    return DPoPChallenge(config, dpop.mode, used_dpop, error, description);
  };
  if (id->dpop_jkt.empty()) {
    if (used_dpop) {
      return refuse(421, "invalid_token", "The access token is not DPoP-bound",
                    "DPoP scheme with an access token that is not DPoP-bound refused");
    }
    if (dpop.mode == DPoPMode::kRequired) {
      return refuse(422, "invalid_token", "This API accepts only DPoP-bound access tokens",
                    "bearer token without DPoP binding refused (CoinpayBearerDPoP required)");
    }
    provider.Count(Metric::kBearerAccepted);
    return Action::Allow(std::move(id));
  }
  if (!used_dpop) {
    return refuse(420, "invalid_token", "A DPoP-bound access token needs its DPoP proof",
                  "DPoP-bound access token presented as a bearer token refused");
  }
  std::string htu = RequestHtu(req.https, req.host, req.path);
  DPoPProofExpectations expect{req.method, htu, token, id->dpop_jkt, config.dpop_algs, now};
  auto proof = CheckDPoPProof(req.dpop, expect);
  if (!proof) {
    return refuse(423, "invalid_dpop_proof", "The DPoP proof is invalid",
                  "DPoP proof refused: " + proof.error().detail);
  }
  if (dpop.replay == nullptr) {
    provider.Count(Metric::kBearerRefusedUnavailable);
    LogAt(log, LogLevel::kError, 430, "no store for DPoP proofs' jti; DPoP request refused");
    return BearerUnavailable(config);
  }
  auto fresh = RememberDPoPProof(*dpop.replay, *proof, now);
  if (!fresh) {
    provider.Count(Metric::kBearerRefusedUnavailable);
    LogAt(log, LogLevel::kError, 425,
          "cannot remember DPoP proofs (session store): " + fresh.error().detail);
    return BearerUnavailable(config);
  }
  if (!*fresh) {
    return refuse(424, "invalid_dpop_proof", "The DPoP proof was used before",
                  "replayed DPoP proof refused (jti " + Untrusted(proof->jti, 64) + ")");
  }
  provider.Count(Metric::kBearerAccepted);
  return Action::Allow(std::move(id));
}

}  // namespace

bool UsesDPoPScheme(DPoPMode mode, std::string_view authorization) {
  return mode != DPoPMode::kOff && authorization.size() > 4 &&
         IEquals(authorization.substr(0, 4), "DPoP");
}

Action DPoPChallenge(const BearerConfig& config, DPoPMode mode, bool used_dpop,
                     std::string_view error, std::string_view description, int status,
                     std::string_view scope) {
  if (mode == DPoPMode::kOff) {
    return BearerChallenge(config, error, description, status, scope);
  }
  Action a;
  if (mode == DPoPMode::kAllowed) {
    a = BearerChallenge(config, used_dpop ? "" : error, description, status,
                        used_dpop ? std::string_view() : scope);
    a.body = error.empty() ? "{\"error\":\"unauthorized\"}\n"
                           : "{\"error\":\"" + std::string(error) + "\"}\n";
  } else {
    a = BearerChallenge(config, error, description, status, scope);
    a.headers.erase(a.headers.begin());  // no Bearer challenge where only DPoP is taken
  }
  std::string challenge = "DPoP realm=\"" + config.realm + "\", algs=\"" + AlgsText(config) + "\"";
  if (!error.empty() && (used_dpop || mode == DPoPMode::kRequired)) {
    challenge += ", error=\"" + std::string(error) + "\"";
    challenge += ", error_description=\"" + std::string(description) + "\"";
    if (!scope.empty()) {
      challenge += ", scope=\"" + std::string(scope) + "\"";
    }
  }
  a.headers.emplace(a.headers.begin(), "WWW-Authenticate", std::move(challenge));
  return a;
}

Action AuthenticateBearer(ProviderClient& provider, VerifiedTokenCache& cache, const Clock& clock,
                          LogSink& log, const RequestView& req, const BearerConfig& config,
                          const BearerDPoP& dpop) {
  int64_t now = clock.NowSeconds();
  const bool takes_dpop = dpop.mode != DPoPMode::kOff;
  // The scheme decides which rules apply; "DPoP" is a scheme only where the location takes it.
  const bool used_dpop = UsesDPoPScheme(dpop.mode, req.authorization);
  // The cache first, before the character check: only a token that passed every check is in
  // it, compared in full, so a hit answers as the checks would, without a pass over its bytes.
  // A hit is still bound-checked: a DPoP proof is per request, never cached.
  if (!config.audiences.empty() || config.any_audience) {
    std::string_view candidate =
        used_dpop ? CredentialsOf(req.authorization, "DPoP") : BearerCredentials(req.authorization);
    if (!candidate.empty() && candidate.size() <= kMaxTokenChars) {
      if (auto hit = cache.Find(candidate, now)) {
        if (!takes_dpop && hit->dpop_jkt.empty()) {
          provider.Count(Metric::kBearerAccepted);
          return Action::Allow(std::move(hit));
        }
        return CheckBinding(provider, log, req, config, dpop, used_dpop, candidate, std::move(hit),
                            now);
      }
    }
  }
  auto token = used_dpop ? DPoPTokenOf(req.authorization) : BearerTokenOf(req.authorization);
  if (!token) {
    if (token.code() == Errc::kBadInput) {
      provider.Count(Metric::kBearerRefusedMalformed);
      LogAt(log, LogLevel::kInfo, 160, "malformed Authorization header refused");
      return DPoPChallenge(config, dpop.mode, used_dpop, "invalid_request",
                           "The Authorization header is malformed", 400);
    }
    provider.Count(Metric::kBearerRefusedMissing);
    return DPoPChallenge(config, dpop.mode, used_dpop, "", "");
  }
  if (config.audiences.empty() && !config.any_audience) {
    // Startup refuses this configuration; refuse here too rather than accept any audience.
    provider.Count(Metric::kBearerRefusedInvalid);
    LogAt(log, LogLevel::kError, 169, "no CoinpayBearerAudience configured; bearer token refused");
    return DPoPChallenge(config, dpop.mode, used_dpop, "invalid_token",
                         "This API accepts no audience yet");
  }
  const ProviderConfig& p = provider.config();
  if (std::count(token->begin(), token->end(), '.') != 2) {
    IntrospectionVerdict verdict = ResolveOpaque(provider, cache, now, log, *token, config);
    switch (verdict.kind) {
      case IntrospectionVerdict::Kind::kAllowed:
        return CheckBinding(provider, log, req, config, dpop, used_dpop, *token,
                            std::move(verdict.identity), now);
      case IntrospectionVerdict::Kind::kRefused:
        provider.Count(Metric::kBearerRefusedIntrospection);
        return DPoPChallenge(config, dpop.mode, used_dpop, "invalid_token", verdict.description);
      case IntrospectionVerdict::Kind::kUnavailable:
        break;
    }
    provider.Count(Metric::kBearerRefusedUnavailable);
    return BearerUnavailable(config);
  }
  TokenExpectations expect;
  expect.audiences = config.audiences;
  expect.access_token_type = config.token_type;
  expect.own_client_ids = config.own_client_ids;
  auto jwt = VerifyToken(provider, *token, TokenKind::kAccessToken, expect, now);
  Status checked = jwt ? Status(Ok{}) : Status(jwt.error());
  if (checked) {
    if (auto bound = BoundJktOf(jwt->claims); !bound) {
      checked = Error{Errc::kBadInput, bound.error().detail};
    }
  }
  if (!checked) {
    if (checked.code() == Errc::kHttpFailure || checked.code() == Errc::kProviderError) {
      provider.Count(Metric::kBearerRefusedUnavailable);
      LogAt(log, LogLevel::kError, 161, "cannot verify bearer tokens: " + checked.error().detail);
      return BearerUnavailable(config);
    }
    provider.Count(Metric::kBearerRefusedInvalid);
    LogAt(log, LogLevel::kInfo, 162,
          std::string("bearer token refused (") + ErrcName(checked.code()) +
              "): " + checked.error().detail + " " + TokenHint(*token));
    return DPoPChallenge(config, dpop.mode, used_dpop, "invalid_token",
                         BearerErrorDescription(checked.code()));
  }
  std::shared_ptr<const Identity> id = IdentityFromTokenClaims(p, jwt->claims);
  int64_t exp = jwt->claims.GetInt("exp").value_or(now);
  cache.Insert(*token, id, SaturatingAdd(exp, p.leeway_seconds), now);
  return CheckBinding(provider, log, req, config, dpop, used_dpop, *token, std::move(id), now);
}

}  // namespace coinpay
