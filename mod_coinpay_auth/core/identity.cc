#include "core/identity.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <mutex>

#include "core/dpop_proof.h"

namespace coinpay {
namespace {

// Claims reach CGI environments and headers: no control character may cut or fold them.
std::string WithoutControlCharacters(std::string s) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  return s;
}

}  // namespace

std::string DisplayedProviderName(std::string_view configured_name) {
  return configured_name.empty() ? std::string(kDefaultProviderName) : std::string(configured_name);
}

std::string ConfiguredProviderName(std::string_view displayed_name) {
  return displayed_name == kDefaultProviderName ? std::string() : std::string(displayed_name);
}

std::vector<std::pair<std::string, std::string>> ClaimsForApplication(const Json& claims) {
  static const char* const kMechanics[] = {"nonce", "at_hash", "c_hash", "s_hash"};
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& name : claims.Keys()) {
    if (std::any_of(std::begin(kMechanics), std::end(kMechanics),
                    [&](const char* m) { return name == m; })) {
      continue;
    }
    out.emplace_back(name, WithoutControlCharacters(claims.Get(name).ToText()));
  }
  return out;
}

size_t ClaimNameSize(std::string_view prefix, std::string_view claim) {
  return prefix.size() + claim.size() + 1;
}

namespace {
// Letters and digits, as a table: this runs over every claim name of many requests.
constexpr std::array<bool, 256> MakeNameCharTable() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<size_t>(c)] =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  }
  return t;
}
constexpr auto kNameChar = MakeNameCharTable();
}  // namespace

char* AppendClaimName(char* out, std::string_view prefix, std::string_view claim, char other) {
  std::memcpy(out, prefix.data(), prefix.size());
  char* p = out + prefix.size();
  for (char c : claim) {
    *p++ = kNameChar[static_cast<unsigned char>(c)] ? c : other;
  }
  *p = '\0';
  return p;
}

namespace {
std::string ClaimName(std::string_view prefix, std::string_view claim, char other) {
  std::string out(ClaimNameSize(prefix, claim), '\0');
  char* end = AppendClaimName(out.data(), prefix, claim, other);
  out.resize(static_cast<size_t>(end - out.data()));
  return out;
}

// What a shared identity points into: its own copies, made once per verified token or per
// session record read, so the identity keeps nothing else alive (a session record keeps its
// identity, so the identity must not keep the record).
struct IdentityStrings {
  std::string user;
  std::string provider;
  std::string issuer;
  std::vector<std::pair<std::string, std::string>> claims;
  std::vector<std::string> variables;
  std::vector<std::string> headers;
  std::string claims_json;
};

// The claims of a record or of a token's strings, as views.
std::vector<Claim> ClaimViews(const std::vector<std::pair<std::string, std::string>>& claims) {
  std::vector<Claim> out;
  out.reserve(claims.size());
  for (const auto& [name, value] : claims) {
    out.push_back(Claim{name, value});
  }
  return out;
}

// An identity whose every view points into `strings`, which it keeps.
std::shared_ptr<Identity> IdentityOver(std::shared_ptr<IdentityStrings> strings) {
  auto id = std::make_shared<Identity>();
  id->user = strings->user;
  id->provider = strings->provider;
  id->issuer = strings->issuer;
  id->claims_json = strings->claims_json;
  id->claims = ClaimViews(strings->claims);
  id->claim_variables.assign(strings->variables.begin(), strings->variables.end());
  id->claim_headers.assign(strings->headers.begin(), strings->headers.end());
  id->terminated = true;  // every view is a whole std::string
  id->storage = std::move(strings);
  return id;
}

std::string_view ProviderView(std::string_view configured_name) {
  return configured_name.empty() ? std::string_view(kDefaultProviderName) : configured_name;
}
}  // namespace

std::string ClaimVariableName(std::string_view claim) {
  return ClaimName(kClaimVariablePrefix, claim, '_');
}

std::string ClaimHeaderName(std::string_view claim) {
  return ClaimName(kClaimHeaderPrefix, claim, '-');
}

std::shared_ptr<const Identity> IdentityFromTokenClaims(const ProviderConfig& p,
                                                        const Json& claims) {
  auto strings = std::make_shared<IdentityStrings>();
  strings->user = claims.GetString("sub").value_or(claims.GetString("client_id").value_or(""));
  strings->provider = DisplayedProviderName(p.name);
  strings->issuer = p.issuer;
  strings->claims = ClaimsForApplication(claims);
  for (const auto& [name, value] : strings->claims) {
    strings->variables.push_back(ClaimVariableName(name));
    strings->headers.push_back(ClaimHeaderName(name));
  }
  strings->claims_json = claims.Dump();
  auto id = IdentityOver(std::move(strings));
  id->parsed_claims = std::make_shared<const Json>(claims);
  // Callers refuse a token whose binding cannot be checked before they get here.
  if (auto jkt = BoundJktOf(claims)) {
    id->dpop_jkt = std::move(*jkt);
  }
  return id;
}

namespace {
// Where several providers are accepted, `sub` alone is not unique: 42 at one provider is not
// 42 at another. The access token only where asked, and never once expired (0: the provider
// gave no lifetime).
template <typename Session>
void FillFromSession(Identity& id, const Session& s, bool qualify_user, bool pass_access_token,
                     int64_t now) {
  id.user = s.user;
  id.provider = ProviderView(s.provider);
  id.issuer = s.issuer;
  id.qualify_user = qualify_user;
  id.claims_json = s.claims_json;
  if (pass_access_token && (s.access_expires_at == 0 || s.access_expires_at > now)) {
    id.access_token = s.access_token;
    id.access_token_expires_at = s.access_expires_at;
    if (!s.dpop_key.empty()) {  // a CoinpayDPoP session: say how the token is to be used
      id.access_token_type = s.access_token_dpop ? "DPoP" : "Bearer";
    }
  }
}
}  // namespace

std::shared_ptr<Identity> IdentityFromStoredSession(std::shared_ptr<const StoredSession> s,
                                                    bool qualify_user, bool pass_access_token,
                                                    int64_t now) {
  auto id = std::make_shared<Identity>();
  if (s == nullptr || !s->view) {
    return id;
  }
  const SessionView& v = *s->view;
  FillFromSession(*id, v, qualify_user, pass_access_token, now);
  id->claims_block = v.claims;
  id->claims.reserve(static_cast<size_t>(v.claim_count));
  ForEachClaim(v, [&](std::string_view name, std::string_view value) {
    id->claims.push_back(Claim{name, value});
  });
  id->storage = std::move(s);
  return id;
}

namespace {
std::shared_ptr<const Identity> MakeSharedIdentity(const SessionView& v, bool qualify_user) {
  auto strings = std::make_shared<IdentityStrings>();
  strings->user = v.user;
  strings->provider = ProviderView(v.provider);
  strings->issuer = v.issuer;
  strings->claims_json = v.claims_json;
  strings->claims.reserve(static_cast<size_t>(v.claim_count));
  strings->variables.reserve(static_cast<size_t>(v.claim_count));
  strings->headers.reserve(static_cast<size_t>(v.claim_count));
  ForEachClaim(v, [&](std::string_view name, std::string_view value) {
    strings->claims.emplace_back(name, value);
    strings->variables.push_back(ClaimVariableName(name));
    strings->headers.push_back(ClaimHeaderName(name));
  });
  auto id = IdentityOver(std::move(strings));
  id->qualify_user = qualify_user;
  return id;
}
}  // namespace

std::shared_ptr<const Identity> SharedIdentityOf(const StoredSession& s, bool qualify_user) {
  if (!s.view) {
    return std::make_shared<const Identity>();
  }
  std::shared_ptr<const Identity>& kept = s.identity[qualify_user ? 1 : 0];
  {
    std::lock_guard<std::mutex> lock(s.identity_mu);
    if (kept != nullptr) {
      return kept;
    }
  }
  // Made outside the lock; two requests racing here make equal identities, the first is kept.
  std::shared_ptr<const Identity> made = MakeSharedIdentity(*s.view, qualify_user);
  std::lock_guard<std::mutex> lock(s.identity_mu);
  if (kept == nullptr) {
    kept = std::move(made);
  }
  return kept;
}

std::shared_ptr<Identity> IdentityFromSession(SessionRecord&& s, bool qualify_user,
                                              bool pass_access_token, int64_t now) {
  auto record = std::make_shared<const SessionRecord>(std::move(s));
  auto id = std::make_shared<Identity>();
  FillFromSession(*id, *record, qualify_user, pass_access_token, now);
  id->claims = ClaimViews(record->claims);
  id->terminated = true;  // every view is a whole std::string (or kDefaultProviderName)
  id->storage = std::move(record);
  return id;
}

}  // namespace coinpay
