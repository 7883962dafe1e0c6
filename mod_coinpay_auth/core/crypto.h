// The core's only door to OpenSSL: hashing, HKDF, AES-256-GCM, Ed25519 signature checks,
// constant-time compare, CSPRNG.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/effects.h"

struct evp_pkey_st;

namespace coinpay {

std::string Sha256(std::string_view data);  // 32 raw bytes
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

// An Ed25519 public key (RFC 8032), imported once and then shared read-only by every thread.
// cjose has no OKP keys, so JWS EdDSA (RFC 8037) is checked here.
//
//   auto key = Ed25519PublicKey::FromRaw(x);  // the JWK's 32-byte "x"
//   if (key && key->Verify(signing_input, signature)) { ... }
class Ed25519PublicKey {
 public:
  static constexpr size_t kSize = 32;
  static constexpr size_t kSignatureSize = 64;

  // nullopt unless `raw` is kSize bytes that OpenSSL takes as a key.
  static std::optional<Ed25519PublicKey> FromRaw(std::string_view raw);
  // Pure Ed25519 over the whole message (no pre-hash, no context), as JWS EdDSA signs.
  bool Verify(std::string_view message, std::string_view signature) const;

 private:
  struct PkeyFree {
    void operator()(evp_pkey_st* pkey) const;
  };
  explicit Ed25519PublicKey(evp_pkey_st* pkey) : pkey_(pkey) {}
  std::unique_ptr<evp_pkey_st, PkeyFree> pkey_;
};

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
