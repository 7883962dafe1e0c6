// DPoP proofs the module signs (the key and the signature are core/jose.cc's).
#include "core/dpop_client.h"

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/json.h"

namespace coinpay {

Result<std::string> MakeDPoPProof(const ClientProof& signer, std::string_view method,
                                  std::string_view url, std::string_view nonce,
                                  std::string_view access_token) {
  if (signer.key == nullptr || signer.random == nullptr) {
    return Error{Errc::kConfig, "no DPoP key"};
  }
  auto jti = RandomToken(*signer.random, 16);
  if (!jti) {
    return Error{Errc::kCryptoFailure, "no randomness for a DPoP proof"};
  }
  Json claims = Json::Object();
  claims.Set("jti", Json::String(*jti));
  claims.Set("htm", Json::String(method));
  claims.Set("htu", Json::String(url.substr(0, url.find_first_of("?#"))));
  claims.Set("iat", Json::Integer(signer.now));
  if (!nonce.empty()) {
    claims.Set("nonce", Json::String(nonce));
  }
  if (!access_token.empty()) {
    claims.Set("ath", Json::String(Base64UrlEncode(Sha256(access_token))));
  }
  return signer.key->SignJwt(claims, "dpop+jwt", /*with_kid=*/false, /*embed_jwk=*/true);
}

}  // namespace coinpay
