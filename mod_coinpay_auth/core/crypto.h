// The core's only door to OpenSSL: hashing, HKDF, AES-256-GCM, Ed25519 signature checks,
// private keys that sign (RSA, EC), constant-time compare, CSPRNG.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/effects.h"
#include "core/result.h"

struct evp_pkey_st;

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

// An RSA or EC private key that signs; loaded or generated once, then shared read-only by threads
// (OpenSSL 3 keys are safe to sign with concurrently). core/jose.cc turns it into JWS and JWKs.
//
//   auto key = PrivateKey::FromPem(pem);                          // PKCS#8 or traditional
//   auto sig = key->Sign(SignatureScheme::kEcdsaP256Sha256, input);  // raw R||S for ECDSA
class PrivateKey {
 public:
  enum class Type { kRsa, kEcP256, kEcP384 };
  // Key material as big-endian unsigned integers named by their JWK members (RFC 7518 6.2/6.3):
  // RSA "n","e" (+ "d","p","q","dp","dq","qi"), EC "x","y" (+ "d"), EC coordinates padded to
  // the field size.
  using Members = std::vector<std::pair<std::string, std::string>>;

  // An unencrypted PEM private key, PKCS#8 or traditional (RSA/EC PRIVATE KEY). Refuses
  // encrypted keys, public keys, and key types other than RSA and EC P-256/P-384. No size policy.
  static Result<PrivateKey> FromPem(std::string_view pem);
  static Result<PrivateKey> GenerateEcP256();
  // From JWK members (see Members); checks that the private and public parts belong together.
  static Result<PrivateKey> FromMembers(Type type, const Members& members);

  Type type() const { return type_; }
  int bits() const;  // RSA modulus size, EC field size
  Members PublicMembers() const;
  Members PrivateMembers() const;  // public and private members; for sealed storage only

  // Signs `input` (hashing it first). ECDSA signatures come as JOSE's fixed-size R||S.
  enum class SignatureScheme { kRsaPkcs1Sha256, kRsaPssSha256, kEcdsaP256Sha256, kEcdsaP384Sha384 };
  Result<std::string> Sign(SignatureScheme scheme, std::string_view input) const;

 private:
  struct PkeyFree {
    void operator()(evp_pkey_st* pkey) const;
  };
  PrivateKey(Type type, evp_pkey_st* pkey) : type_(type), pkey_(pkey) {}
  Type type_;
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
