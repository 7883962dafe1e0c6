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
// The credentials of "Bearer <token>", spaces around them trimmed; "" when there are none.
std::string_view BearerCredentials(std::string_view authorization) {
  if (authorization.size() < 7 || !IEquals(authorization.substr(0, 6), "Bearer") ||
      authorization[6] != ' ') {
    return {};
  }
  std::string_view token = authorization.substr(7);
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  while (!token.empty() && token.back() == ' ') {
    token.remove_suffix(1);
  }
  return token;
}
}  // namespace

Result<std::string_view> BearerTokenOf(std::string_view authorization) {
  if (authorization.size() < 7 || !IEquals(authorization.substr(0, 6), "Bearer") ||
      authorization[6] != ' ') {
    return Error{Errc::kNotFound, "no bearer token"};
  }
  std::string_view token = BearerCredentials(authorization);
  if (token.empty() || token.size() > kMaxTokenChars ||
      !std::all_of(token.begin(), token.end(), IsToken68Char)) {
    return Error{Errc::kBadInput, "malformed bearer token"};
  }
  return token;
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

Action AuthenticateBearer(ProviderClient& provider, VerifiedTokenCache& cache, const Clock& clock,
                          LogSink& log, const RequestView& req, const BearerConfig& config) {
  int64_t now = clock.NowSeconds();
  // The cache first, before the character check: only a token that passed every check is in
  // it, compared in full, so a hit answers as the checks would, without a pass over its bytes.
  if (!config.audiences.empty() || config.any_audience) {
    std::string_view candidate = BearerCredentials(req.authorization);
    if (!candidate.empty() && candidate.size() <= kMaxTokenChars) {
      if (auto hit = cache.Find(candidate, now)) {
        provider.Count(Metric::kBearerAccepted);
        return Action::Allow(std::move(hit));
      }
    }
  }
  auto token = BearerTokenOf(req.authorization);
  if (!token) {
    if (token.code() == Errc::kBadInput) {
      provider.Count(Metric::kBearerRefusedMalformed);
      LogAt(log, LogLevel::kInfo, 160, "malformed Authorization header refused");
      return BearerChallenge(config, "invalid_request", "The Authorization header is malformed",
                             400);
    }
    provider.Count(Metric::kBearerRefusedMissing);
    return BearerChallenge(config, "", "");
  }
  if (config.audiences.empty() && !config.any_audience) {
    // Startup refuses this configuration; refuse here too rather than accept any audience.
    provider.Count(Metric::kBearerRefusedInvalid);
    LogAt(log, LogLevel::kError, 169, "no CoinpayBearerAudience configured; bearer token refused");
    return BearerChallenge(config, "invalid_token", "This API accepts no audience yet");
  }
  const ProviderConfig& p = provider.config();
  if (std::count(token->begin(), token->end(), '.') != 2) {
    return AuthenticateOpaque(provider, cache, now, log, *token, config);
  }
  TokenExpectations expect;
  expect.audiences = config.audiences;
  expect.access_token_type = config.token_type;
  expect.own_client_ids = config.own_client_ids;
  auto jwt = VerifyToken(provider, *token, TokenKind::kAccessToken, expect, now);
  Status checked = jwt ? Status(Ok{}) : Status(jwt.error());
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
    return BearerChallenge(config, "invalid_token", BearerErrorDescription(checked.code()));
  }
  auto id = IdentityFromTokenClaims(p, jwt->claims);
  int64_t exp = jwt->claims.GetInt("exp").value_or(now);
  cache.Insert(*token, id, SaturatingAdd(exp, p.leeway_seconds), now);
  provider.Count(Metric::kBearerAccepted);
  return Action::Allow(std::shared_ptr<const Identity>(std::move(id)));
}

}  // namespace coinpay
