// Seals small values into cookies: AES-256-GCM with a key from HKDF-SHA256 over each crypto
// passphrase, the purpose bound as associated data, an expiry inside. The first passphrase
// seals; every passphrase opens, so operators can rotate without logging anyone out.
//
//   CookieSealer sealer({"new secret", "old secret"});
//   auto v = sealer.Seal("login-state", payload, now + 600, random);
//   auto p = sealer.Open("login-state", v, now);  // kCookieInvalid if tampered/expired/other
//   purpose
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/effects.h"
#include "core/result.h"

namespace coinpay {

class CookieSealer {
 public:
  // Derives one key per passphrase; keys are wiped when the sealer is destroyed.
  explicit CookieSealer(const std::vector<std::string>& passphrases);
  ~CookieSealer();
  CookieSealer(const CookieSealer&) = delete;
  CookieSealer& operator=(const CookieSealer&) = delete;

  Result<std::string> Seal(std::string_view purpose, std::string_view plaintext, int64_t expires_at,
                           Random& random) const;
  Result<std::string> Open(std::string_view purpose, std::string_view sealed, int64_t now) const;

  // A key for another purpose (e.g. encrypting session records at rest), derived the same way.
  std::string DeriveKey(std::string_view info) const;

 private:
  std::vector<std::string> keys_;
  std::string first_passphrase_ikm_;
};

}  // namespace coinpay
