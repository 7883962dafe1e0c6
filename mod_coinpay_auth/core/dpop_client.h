// The module as a DPoP client (RFC 9449 section 4.2): proofs signed with a session's own key for
// the calls it makes to the provider (token, refresh, userinfo) and, through
// SetHandler coinpay-dpop-proof, for the calls the application makes with the access token.
//
//   auto key = SigningKey::GenerateEs256();             // once per session, at sign-in
//   ClientProof dpop{key->get(), &random, now};
//   auto tokens = ExchangeCode(provider, code, verifier, &dpop);   // core/token_client.h
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/effects.h"
#include "core/jose.h"
#include "core/result.h"

namespace coinpay {

// What signs the proofs of one session's calls.
struct ClientProof {
  const SigningKey* key = nullptr;
  Random* random = nullptr;
  int64_t now = 0;
};

// A DPoP proof (typ dpop+jwt, the public key in jwk) for `method` on `url` (its query and
// fragment left out of htu), with a fresh random jti; `nonce` and `ath` (the hash of
// `access_token`) when not empty.
Result<std::string> MakeDPoPProof(const ClientProof& signer, std::string_view method,
                                  std::string_view url, std::string_view nonce = {},
                                  std::string_view access_token = {});

}  // namespace coinpay
