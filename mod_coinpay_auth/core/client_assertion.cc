// Client assertions are signed per call; nothing about them is cached, since each needs its
// own jti and a current iat.
#include "core/client_assertion.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/json.h"

namespace coinpay {
namespace {
constexpr size_t kJtiBytes = 32;
}  // namespace

Result<std::string> MakeClientAssertion(const SigningKey& key, std::string_view client_id,
                                        std::string_view audience, int64_t now, Random& random) {
  auto jti = RandomToken(random, kJtiBytes);
  if (!jti) {
    return Error{Errc::kCryptoFailure, "random generator failed; no client assertion"};
  }
  Json claims = Json::Object();
  claims.Set("iss", Json::String(client_id));
  claims.Set("sub", Json::String(client_id));
  claims.Set("aud", Json::String(audience));
  claims.Set("jti", Json::String(*jti));
  claims.Set("iat", Json::Integer(now));
  claims.Set("exp", Json::Integer(now + kClientAssertionLifetimeSeconds));
  return key.SignJwt(claims, "JWT", /*with_kid=*/true);
}

std::string PublishedJwks(const std::vector<const ProviderConfig*>& providers) {
  std::vector<const SigningKey*> seen;
  std::string out = R"({"keys":[)";
  for (const ProviderConfig* p : providers) {
    for (const auto& key : p->signing_keys) {
      bool dup = std::any_of(seen.begin(), seen.end(), [&](const SigningKey* k) {
        return k->kid() == key->kid() && k->Thumbprint() == key->Thumbprint();
      });
      if (dup) {
        continue;
      }
      if (!seen.empty()) {
        out += ',';
      }
      seen.push_back(key.get());
      out += key->PublicJwkJson();
    }
  }
  return out + "]}";
}

}  // namespace coinpay
