#include "core/identity.h"

#include <algorithm>
#include <iterator>

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

std::shared_ptr<Identity> IdentityFromTokenClaims(const ProviderConfig& p, const Json& claims) {
  auto id = std::make_shared<Identity>();
  id->user = claims.GetString("sub").value_or(claims.GetString("client_id").value_or(""));
  id->provider = DisplayedProviderName(p.name);
  id->issuer = p.issuer;
  id->claims = ClaimsForApplication(claims);
  id->claims_json = claims.Dump();
  id->parsed_claims = std::make_shared<const Json>(claims);
  // Callers refuse a token whose binding cannot be checked before they get here.
  if (auto jkt = BoundJktOf(claims)) {
    id->dpop_jkt = std::move(*jkt);
  }
  return id;
}

Identity IdentityFromSession(SessionRecord&& s, bool qualify_user, bool pass_access_token,
                             int64_t now) {
  Identity id;
  id.user = std::move(s.user);
  id.provider = DisplayedProviderName(s.provider);
  id.issuer = std::move(s.issuer);
  // Where several providers are accepted, `sub` alone is not unique: 42 at one provider is not
  // 42 at another.
  id.qualify_user = qualify_user;
  id.claims = std::move(s.claims);
  id.claims_json = std::move(s.claims_json);
  // 0: the provider gave no lifetime.
  if (pass_access_token && (s.access_expires_at == 0 || s.access_expires_at > now)) {
    id.access_token = std::move(s.access_token);
    id.access_token_expires_at = s.access_expires_at;
  }
  return id;
}

}  // namespace coinpay
