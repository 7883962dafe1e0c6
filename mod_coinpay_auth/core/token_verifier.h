// One verifier for every JWT the module accepts: the signature (the provider's keys, an
// allow-listed algorithm), then the rules of the token's kind, so no kind passes for another.
// Each kind's differences are one row of the table in token_verifier.cc.
//
//   TokenExpectations x;  x.nonce = login.nonce;
//   auto jwt = VerifyToken(provider, compact, TokenKind::kIdToken, x, now);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jose.h"
#include "core/provider_client.h"
#include "core/result.h"

namespace coinpay {

enum class TokenKind {
  kIdToken,           // at sign-in (OpenID Connect Core 3.1.3.7)
  kRefreshedIdToken,  // from a refresh (Core 12.2): no nonce to compare, same user
  kAccessToken,       // on a coinpay-bearer location (RFC 9068)
  kLogoutToken,       // back-channel logout (OpenID Connect Back-Channel Logout 1.0, 2.4)
};

// What the caller knows that the kind alone does not.
struct TokenExpectations {
  std::string nonce;  // kIdToken: the nonce sent with the authorization request
  // kAccessToken: audiences the API accepts (empty: any, when the operator said so), the typ
  // it must carry, and the client ids this server signs in with (a token addressed to one of
  // them is an ID token, not an access token, unless typed at+jwt).
  std::vector<std::string> audiences;
  AccessTokenType access_token_type = AccessTokenType::kAtJwt;
  std::vector<std::string> own_client_ids;
};

// The verified token, or why it was refused (Errc says what kind of problem, for the answer).
Result<VerifiedJwt> VerifyToken(ProviderClient& provider, std::string_view compact, TokenKind kind,
                                const TokenExpectations& expect, int64_t now);

}  // namespace coinpay
