// A SharedStore decorator that seals every session value with AES-256-GCM before it leaves the
// process (the Redis store), binding each value to its key so values cannot be swapped between
// keys. Lock and replay markers (Add / EraseIfEquals) and the index sets pass through: they are
// random tokens and hashes of session ids, and the owner must be able to compare them.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/effects.h"
#include "core/shared_store.h"

namespace coinpay {

class SealedStore final : public ValueStoreDecorator {
 public:
  SealedStore(SharedStore& inner, std::string key32, Random& random);
  ~SealedStore() override;
  SealedStore(const SealedStore&) = delete;
  SealedStore& operator=(const SealedStore&) = delete;

  // How many values this store has tried to open (AES-GCM + the caller's parse follow each):
  // what core/cached_store saves, counted for its tests.
  uint64_t opened() const { return opened_.load(std::memory_order_relaxed); }

  Status Put(std::string_view key, std::string_view value, int64_t expires_at) override;
  // A value that does not open (tampered, or sealed with another passphrase) reads as absent.
  Result<std::optional<Entry>> Get(std::string_view key, int64_t now) override;
  // Opens the value only when the inner store sent one (it changed); `unchanged` costs nothing.
  Result<Revalidation> GetIfChanged(std::string_view key, int64_t now,
                                    uint64_t known_version) override;
  // Versions are the inner store's: a sealed value is a new one for it.
  Result<bool> PutIfVersion(std::string_view key, std::string_view value, int64_t expires_at,
                            uint64_t version, int64_t now) override;
  Status Erase(std::string_view key) override { return inner_.Erase(key); }
  // Markers and sets pass through unsealed (ValueStoreDecorator).

 private:
  Result<std::string> Seal(std::string_view key, std::string_view value);
  // Replaces a read entry's sealed value by its plaintext; an entry that does not open goes.
  void Open(std::string_view key, std::optional<Entry>& entry);

  std::string key_;
  Random& random_;
  std::atomic<uint64_t> opened_{0};
};

}  // namespace coinpay
