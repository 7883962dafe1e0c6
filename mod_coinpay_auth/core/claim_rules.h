// The rules behind `Require coinpay-scope a b` and `Require coinpay-claim name:value`: parsed
// once when httpd reads the Require line, then checked against each request's claims.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace coinpay {

// The token's scopes: the space-separated `scope` string (RFC 9068) or an `scp` array.
std::vector<std::string> ScopesOf(const Json& claims);

class ScopeRule {
 public:
  // "read:documents profile": every listed scope is required.
  static Result<ScopeRule> Parse(std::string_view require_args);
  bool SatisfiedBy(const Json& claims) const;
  // The scopes as one string, for WWW-Authenticate's scope parameter.
  std::string Joined() const;

 private:
  std::vector<std::string> scopes_;
};

class ClaimRule {
 public:
  // "name:value", where name may be nested ("realm_access.roles:admin"). A value matches a
  // string claim equal to it, a number or boolean printed as it, or an array containing it.
  static Result<ClaimRule> Parse(std::string_view require_args);
  bool SatisfiedBy(const Json& claims) const;

 private:
  std::string path_;
  std::string value_;
};

}  // namespace coinpay
