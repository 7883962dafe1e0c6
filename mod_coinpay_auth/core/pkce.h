// PKCE (RFC 7636) with S256 only: the verifier comes from the CSPRNG, the challenge is its hash.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/effects.h"

namespace coinpay {

// 32 random bytes as base64url: 43 characters from the unreserved set, 256 bits of entropy.
std::optional<std::string> MakePkceVerifier(Random& random);
std::string PkceChallengeS256(std::string_view verifier);

}  // namespace coinpay
