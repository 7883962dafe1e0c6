// The core's only door to OpenSSL: hashing, HKDF, AES-256-GCM, constant-time compare, CSPRNG.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "coinpay_auth/effects.h"

namespace coinpay {

std::string Sha256(std::string_view data);  // 32 raw bytes
// 20 raw bytes. Not for security: change detection that must match Redis's redis.sha1hex.
std::string Sha1(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);
// HKDF-SHA256 (RFC 5869) of `length` bytes.
std::optional<std::string> HkdfSha256(std::string_view ikm, std::string_view salt,
                                      std::string_view info, size_t length);

constexpr size_t kAesGcmIvSize = 12;
constexpr size_t kAesGcmTagSize = 16;
// Returns iv || ciphertext || tag. `iv` must be kAesGcmIvSize fresh random bytes.
std::optional<std::string> AesGcmSeal(std::string_view key32, std::string_view iv,
                                      std::string_view aad, std::string_view plaintext);
// Takes iv || ciphertext || tag; nullopt when the tag does not verify.
std::optional<std::string> AesGcmOpen(std::string_view key32, std::string_view aad,
                                      std::string_view sealed);

// Compares in time that depends only on the lengths, never on where the bytes differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Overwrites the bytes so a secret does not linger in freed memory.
void SecureWipe(std::string& s);

// Random from OpenSSL's CSPRNG (RAND_bytes), safe across fork().
class OsRandom : public Random {
 public:
  bool Fill(uint8_t* out, size_t len) override;
};

// `n` random bytes as unpadded base64url, or nullopt when the generator fails.
std::optional<std::string> RandomToken(Random& random, size_t n);

}  // namespace coinpay
