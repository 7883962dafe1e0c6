// Sealing session values at rest.
#include "core/encrypted_session_store.h"

#include "core/crypto.h"

namespace coinpay {
namespace {
std::string Aad(std::string_view key) { return "mod_coinpay_auth/session/" + std::string(key); }
}  // namespace

EncryptedSessionStore::EncryptedSessionStore(SessionStore& inner, std::string key32, Random& random)
    : inner_(inner), key_(std::move(key32)), random_(random) {}

EncryptedSessionStore::~EncryptedSessionStore() { SecureWipe(key_); }

Status EncryptedSessionStore::Put(std::string_view key, std::string_view value,
                                  int64_t expires_at) {
  std::string iv(kAesGcmIvSize, '\0');
  if (!random_.Fill(reinterpret_cast<uint8_t*>(iv.data()), iv.size())) {
    return Error{Errc::kCryptoFailure, "random generator failed"};
  }
  auto sealed = AesGcmSeal(key_, iv, Aad(key), value);
  if (!sealed) {
    return Error{Errc::kCryptoFailure, "AES-GCM seal failed"};
  }
  return inner_.Put(key, *sealed, expires_at);
}

Result<std::optional<std::string>> EncryptedSessionStore::Get(std::string_view key, int64_t now) {
  auto got = inner_.Get(key, now);
  if (!got || !got->has_value()) {
    return got;
  }
  auto plain = AesGcmOpen(key_, Aad(key), **got);
  if (!plain) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::move(*plain));
}

}  // namespace coinpay
