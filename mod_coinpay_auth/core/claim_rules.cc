// Scope and claim matching for authorization.
#include "core/claim_rules.h"

#include <algorithm>

namespace coinpay {
namespace {

std::vector<std::string> SplitSpaces(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
      ++i;
    }
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') {
      ++j;
    }
    if (j > i) {
      out.emplace_back(s.substr(i, j - i));
    }
    i = j;
  }
  return out;
}

// True when `word` is one of the space- or tab-separated words of `text` (as SplitSpaces
// would list them), without building the list.
bool HasWord(std::string_view text, std::string_view word) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
      ++i;
    }
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') {
      ++j;
    }
    if (j > i && text.substr(i, j - i) == word) {
      return true;
    }
    i = j;
  }
  return false;
}

bool ScalarMatches(const Json& v, const std::string& want) {
  if (v.IsString()) {
    return v.AsString() == want;
  }
  if (v.IsBool() || v.IsInteger()) {
    return v.ToText() == want;
  }
  return false;
}

}  // namespace

std::vector<std::string> ScopesOf(const Json& claims) {
  Json scope = claims.Get("scope");
  if (scope.IsString()) {
    return SplitSpaces(scope.AsString());
  }
  std::vector<std::string> out;
  Json scp = claims.Get("scp");
  if (scp.IsArray()) {
    for (size_t i = 0; i < scp.Size(); ++i) {
      if (scp.At(i).IsString()) {
        out.push_back(scp.At(i).AsString());
      }
    }
  } else if (scp.IsString()) {
    return SplitSpaces(scp.AsString());
  }
  return out;
}

Result<ScopeRule> ScopeRule::Parse(std::string_view require_args) {
  ScopeRule rule;
  rule.scopes_ = SplitSpaces(require_args);
  if (rule.scopes_.empty()) {
    return Error{Errc::kConfig,
                 "Require coinpay-scope needs at least one scope, e.g. "
                 "Require coinpay-scope read:documents"};
  }
  return rule;
}

bool ScopeRule::SatisfiedBy(const Json& claims) const {
  // The usual case, a "scope" string: matched word by word in place, on every request.
  if (Json scope = claims.Get("scope"); scope.IsString()) {
    const std::string_view text = scope.AsStringView();  // `scope` holds it
    return std::all_of(scopes_.begin(), scopes_.end(),
                       [&](const std::string& s) { return HasWord(text, s); });
  }
  std::vector<std::string> have = ScopesOf(claims);
  return std::all_of(scopes_.begin(), scopes_.end(), [&](const std::string& s) {
    return std::find(have.begin(), have.end(), s) != have.end();
  });
}

std::string ScopeRule::Joined() const {
  std::string out;
  for (const auto& s : scopes_) {
    if (!out.empty()) {
      out += ' ';
    }
    out += s;
  }
  return out;
}

Result<ClaimRule> ClaimRule::Parse(std::string_view require_args) {
  std::vector<std::string> words = SplitSpaces(require_args);
  size_t colon = words.size() == 1 ? words[0].find(':') : std::string::npos;
  if (colon == std::string::npos || colon == 0) {
    return Error{Errc::kConfig,
                 "Require coinpay-claim takes one name:value, e.g. "
                 "Require coinpay-claim email_verified:true"};
  }
  ClaimRule rule;
  rule.path_ = words[0].substr(0, colon);
  rule.value_ = words[0].substr(colon + 1);
  return rule;
}

bool ClaimRule::SatisfiedBy(const Json& claims) const {
  Json v = claims.GetPath(path_);
  if (v.IsArray()) {
    for (size_t i = 0; i < v.Size(); ++i) {
      if (ScalarMatches(v.At(i), value_)) {
        return true;
      }
    }
    return false;
  }
  return ScalarMatches(v, value_);
}

}  // namespace coinpay
