// Claim checks shared by ID tokens and access tokens; each failure has its own Errc.
#include "core/claims_policy.h"

#include <algorithm>

#include "core/crypto.h"

namespace coinpay {

std::vector<std::string> AudienceList(const Json& claims) {
  std::vector<std::string> out;
  Json aud = claims.Get("aud");
  if (aud.IsString()) {
    out.push_back(aud.AsString());
  } else if (aud.IsArray()) {
    for (size_t i = 0; i < aud.Size(); ++i) {
      if (aud.At(i).IsString()) {
        out.push_back(aud.At(i).AsString());
      }
    }
  }
  return out;
}

Status CheckClaims(const Json& claims, const ClaimsPolicy& policy, int64_t now) {
  auto iss = claims.GetString("iss");
  if (!iss) {
    return Error{Errc::kMissingClaim, "token has no iss"};
  }
  if (*iss != policy.issuer) {
    return Error{Errc::kIssuerMismatch, "iss is not the configured issuer"};
  }
  std::vector<std::string> aud = AudienceList(claims);
  if (!policy.audiences.empty()) {
    bool match = std::any_of(aud.begin(), aud.end(), [&](const std::string& a) {
      return std::find(policy.audiences.begin(), policy.audiences.end(), a) !=
             policy.audiences.end();
    });
    if (!match) {
      return Error{Errc::kAudienceMismatch,
                   aud.empty() ? "token has no aud" : "aud does not contain our audience"};
    }
  }
  if (policy.client_id) {
    auto azp = claims.GetString("azp");
    if (azp && *azp != *policy.client_id) {
      return Error{Errc::kAzpMismatch, "azp is not our client id"};
    }
    if (!azp && aud.size() > 1) {
      return Error{Errc::kAzpMismatch, "several audiences and no azp"};
    }
  }
  auto exp = claims.GetInt("exp");
  if (!claims.Get("exp").IsNull() && !exp) {
    return Error{Errc::kBadInput, "exp is not a number"};
  }
  if (!exp && policy.require_exp) {
    return Error{Errc::kMissingClaim, "token has no exp"};
  }
  if (exp && now - policy.leeway_seconds > *exp) {  // no overflow for exp near INT64_MAX
    return Error{Errc::kExpired, "token expired"};
  }
  auto nbf = claims.GetInt("nbf");
  if (nbf && *nbf > now + policy.leeway_seconds) {
    return Error{Errc::kNotYetValid, "nbf is in the future"};
  }
  auto iat = claims.GetInt("iat");
  if (!iat && policy.require_iat) {
    return Error{Errc::kMissingClaim, "token has no iat"};
  }
  if (iat && *iat > now + policy.leeway_seconds) {
    return Error{Errc::kNotYetValid, "iat is in the future"};
  }
  if (policy.nonce) {
    auto nonce = claims.GetString("nonce");
    if (!nonce || !ConstantTimeEquals(*nonce, *policy.nonce)) {
      return Error{Errc::kNonceMismatch,
                   nonce ? "nonce differs from the one we sent" : "token has no nonce"};
    }
  }
  return OkStatus();
}

}  // namespace coinpay
