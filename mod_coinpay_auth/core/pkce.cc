// PKCE S256: BASE64URL(SHA256(ASCII(code_verifier))), RFC 7636 section 4.2.
#include "core/pkce.h"

#include "core/crypto.h"
#include "core/encoding.h"

namespace coinpay {

std::optional<std::string> MakePkceVerifier(Random& random) { return RandomToken(random, 32); }

std::string PkceChallengeS256(std::string_view verifier) {
  return Base64UrlEncode(Sha256(verifier));
}

}  // namespace coinpay
