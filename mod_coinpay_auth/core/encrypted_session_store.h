// A SessionStore decorator that seals every session value with AES-256-GCM before it leaves the
// process (the Redis store), binding each value to its key so values cannot be swapped between
// keys. Lock and replay markers (Add / EraseIfEquals) pass through: they are random tokens, and
// the owner must be able to compare them.
#pragma once

#include <string>

#include "coinpay_auth/effects.h"
#include "coinpay_auth/session_store.h"

namespace coinpay {

class EncryptedSessionStore final : public SessionStore {
 public:
  EncryptedSessionStore(SessionStore& inner, std::string key32, Random& random);
  ~EncryptedSessionStore() override;

  Status Put(std::string_view key, std::string_view value, int64_t expires_at) override;
  // A value that does not open (tampered, or sealed with another passphrase) reads as absent.
  Result<std::optional<std::string>> Get(std::string_view key, int64_t now) override;
  Status Erase(std::string_view key) override { return inner_.Erase(key); }
  Result<bool> Add(std::string_view key, std::string_view value, int64_t expires_at,
                   int64_t now) override {
    return inner_.Add(key, value, expires_at, now);
  }
  Status EraseIfEquals(std::string_view key, std::string_view expected) override {
    return inner_.EraseIfEquals(key, expected);
  }

 private:
  SessionStore& inner_;
  std::string key_;
  Random& random_;
};

}  // namespace coinpay
