// Step-up decisions, one function per rule, each unit-tested (tests/unit/step_up_test.cc).
#include "core/step_up.h"

#include <algorithm>
#include <cstdint>

#include "core/bearer_authn.h"
#include "core/log.h"
#include "core/saturating.h"

namespace coinpay {
namespace {

bool Contains(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t sp = text.find_first_of(" \t");
    if (sp != 0) {
      out.emplace_back(text.substr(0, sp));
    }
    text = sp == std::string_view::npos ? std::string_view() : text.substr(sp + 1);
  }
  return out;
}

// a - b, held at the int64 limits (claims are whatever the provider signed).
int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) {
    return b < 0 ? INT64_MAX : INT64_MIN;
  }
  return out;
}

std::string Joined(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) {
    if (!out.empty()) {
      out += ' ';
    }
    out += v;
  }
  return out;
}

}  // namespace

StepUpShortfall ShortfallOf(const StepUpPolicy& policy, std::string_view acr,
                            int64_t authenticated_at, int64_t now) {
  StepUpShortfall s;
  s.acr = !policy.acr_values.empty() && !Contains(policy.acr_values, acr);
  s.age = policy.max_auth_age > 0 &&
          (authenticated_at <= 0 || now > SaturatingAdd(authenticated_at, policy.max_auth_age));
  return s;
}

StepUpRequest StepUpRequestFor(const StepUpPolicy& policy, bool reauthenticate) {
  StepUpRequest r;
  r.acr_values = Joined(policy.acr_values);
  r.max_age = policy.max_auth_age > 0 ? policy.max_auth_age : -1;
  r.prompt_login = policy.Active() && (reauthenticate || !policy.acr_values.empty());
  return r;
}

void AddStepUpParams(const StepUpRequest& request, Params& params) {
  auto replace = [&](const char* name, std::string value) {
    params.erase(std::remove_if(params.begin(), params.end(),
                                [&](const auto& kv) { return kv.first == name; }),
                 params.end());
    params.emplace_back(name, std::move(value));
  };
  if (!request.acr_values.empty()) {
    replace("acr_values", request.acr_values);
  }
  if (request.max_age >= 0) {
    replace("max_age", std::to_string(request.max_age));
  }
  if (request.prompt_login) {
    replace("prompt", "login");
  }
}

Result<ProvenAuthentication> ProvenBy(const Json& id_token_claims) {
  ProvenAuthentication p;
  Json acr = id_token_claims.Get("acr");
  if (!acr.IsNull()) {
    if (!acr.IsString()) {
      return Error{Errc::kBadInput, "acr is not a string"};
    }
    p.acr = *id_token_claims.GetString("acr");
  }
  if (!id_token_claims.Get("auth_time").IsNull()) {
    p.auth_time = id_token_claims.GetInt("auth_time");
    if (!p.auth_time) {
      return Error{Errc::kBadInput, "auth_time is not a number"};
    }
  }
  p.iat = id_token_claims.GetInt("iat");
  return p;
}

Status CheckStepUpAnswer(const StepUpRequest& asked, const ProvenAuthentication& proven) {
  if (!asked.acr_values.empty() && !Contains(Words(asked.acr_values), proven.acr)) {
    return Error{
        Errc::kMissingClaim,
        proven.acr.empty()
            ? std::string("the ID token has no acr; asked for ") + Untrusted(asked.acr_values, 256)
            : "the ID token's acr " + Untrusted(proven.acr, 128) + " is none of the requested " +
                  Untrusted(asked.acr_values, 256)};
  }
  if (asked.max_age >= 0) {
    if (!proven.auth_time || !proven.iat) {
      return Error{Errc::kMissingClaim, "the ID token has no auth_time, though max_age was sent"};
    }
    int64_t age = SaturatingSub(*proven.iat, *proven.auth_time);
    if (age > asked.max_age) {
      return Error{Errc::kExpired, "the ID token's auth_time is " + std::to_string(age) +
                                       " s before its iat; max_age was " +
                                       std::to_string(asked.max_age)};
    }
  }
  return OkStatus();
}

int64_t AuthenticatedAt(const ProvenAuthentication& proven, int64_t now) {
  if (!proven.auth_time) {
    return 0;
  }
  // An auth_time after iat (a provider's bug) counts as authenticated when issued.
  int64_t age = proven.iat ? std::max<int64_t>(0, SaturatingSub(*proven.iat, *proven.auth_time))
                           : SaturatingSub(now, *proven.auth_time);
  return std::max<int64_t>(1, SaturatingSub(now, std::max<int64_t>(0, age)));
}

bool IsPlainAcrValue(std::string_view value) {
  if (value.empty() || value.size() > 256) {
    return false;
  }
  return std::all_of(value.begin(), value.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '"' && c != '\\' && c != ',';
  });
}

Result<AcrRule> AcrRule::Parse(std::string_view require_args) {
  AcrRule rule;
  rule.values_ = Words(require_args);
  if (rule.values_.empty()) {
    return Error{Errc::kConfig,
                 "Require coinpay-acr takes one or more acr values (CPA00981), e.g. Require "
                 "coinpay-acr urn:coinpay:acr:strong"};
  }
  for (const std::string& v : rule.values_) {
    if (!IsPlainAcrValue(v)) {
      return Error{Errc::kConfig,
                   "Require coinpay-acr takes acr values of visible characters without quotes, "
                   "backslashes or commas (CPA00982), e.g. urn:coinpay:acr:strong"};
    }
  }
  return rule;
}

bool AcrRule::SatisfiedBy(const Json& claims) const {
  auto acr = claims.GetString("acr");
  return acr && Contains(values_, *acr);
}

std::optional<Action> BearerStepUpChallenge(const BearerConfig& config, const AcrRule* acr,
                                            int64_t max_auth_age, const Json& claims, int64_t now,
                                            int64_t leeway, DPoPMode dpop_mode, bool used_dpop) {
  bool acr_short = acr != nullptr && !acr->SatisfiedBy(claims);
  bool age_short = false;
  if (max_auth_age > 0) {
    auto auth_time = claims.GetInt("auth_time");
    age_short = !auth_time || now > SaturatingAdd(SaturatingAdd(*auth_time, max_auth_age), leeway);
  }
  if (!acr_short && !age_short) {
    return std::nullopt;
  }
  const char* description = acr_short && age_short
                                ? "A different and more recent authentication is required"
                            : acr_short ? "A different authentication level is required"
                                        : "More recent authentication is required";
  Action a = DPoPChallenge(config, dpop_mode, used_dpop, "insufficient_user_authentication",
                           description);
  // RFC 9470 section 3: what a new token needs, so the client can ask for it.
  std::string extra;
  if (acr != nullptr) {
    extra += ", acr_values=\"" + Joined(acr->values()) + "\"";
  }
  if (max_auth_age > 0) {
    extra += ", max_age=\"" + std::to_string(max_auth_age) + "\"";
  }
  for (auto& [name, value] : a.headers) {
    if (name == "WWW-Authenticate" &&
        value.find("insufficient_user_authentication") != std::string::npos) {
      value += extra;
    }
  }
  return a;
}

}  // namespace coinpay
