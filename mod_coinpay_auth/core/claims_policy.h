// The rules a verified JWT's claims must meet: issuer, audience, time window, nonce, azp.
// Used for ID tokens (OpenID Connect Core 3.1.3.7) and for bearer access tokens (RFC 9068).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace coinpay {

struct ClaimsPolicy {
  std::string issuer;                  // iss must equal this exactly
  std::vector<std::string> audiences;  // aud must contain one of these; empty: any audience
  int64_t leeway_seconds = 60;
  bool require_exp = true;
  bool require_iat = false;
  std::optional<std::string> nonce;  // when set, the nonce claim must equal it
  std::optional<std::string>
      client_id;  // when set, azp (if present or aud has several) must equal it
};

Status CheckClaims(const Json& claims, const ClaimsPolicy& policy, int64_t now);

// The aud claim as a list (a string becomes a one-element list).
std::vector<std::string> AudienceList(const Json& claims);

}  // namespace coinpay
