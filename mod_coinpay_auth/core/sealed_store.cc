// Sealing session values at rest.
#include "core/sealed_store.h"

#include "core/crypto.h"

namespace coinpay {
namespace {
std::string Aad(std::string_view key) { return "mod_coinpay_auth/session/" + std::string(key); }
}  // namespace

SealedStore::SealedStore(SharedStore& inner, std::string key32, Random& random)
    : ValueStoreDecorator(inner), key_(std::move(key32)), random_(random) {}

SealedStore::~SealedStore() { SecureWipe(key_); }

Result<std::string> SealedStore::Seal(std::string_view key, std::string_view value) {
  std::string iv(kAesGcmIvSize, '\0');
  if (!random_.Fill(reinterpret_cast<uint8_t*>(iv.data()), iv.size())) {
    return Error{Errc::kCryptoFailure, "random generator failed"};
  }
  auto sealed = AesGcmSeal(key_, iv, Aad(key), value);
  if (!sealed) {
    return Error{Errc::kCryptoFailure, "AES-GCM seal failed"};
  }
  return std::move(*sealed);
}

Status SealedStore::Put(std::string_view key, std::string_view value, int64_t expires_at) {
  auto sealed = Seal(key, value);
  if (!sealed) {
    return sealed.error();
  }
  return inner_.Put(key, *sealed, expires_at);
}

Result<bool> SealedStore::PutIfVersion(std::string_view key, std::string_view value,
                                       int64_t expires_at, uint64_t version, int64_t now) {
  auto sealed = Seal(key, value);
  if (!sealed) {
    return sealed.error();
  }
  return inner_.PutIfVersion(key, *sealed, expires_at, version, now);
}

void SealedStore::Open(std::string_view key, std::optional<Entry>& entry) {
  if (!entry.has_value()) {
    return;
  }
  opened_.fetch_add(1, std::memory_order_relaxed);
  auto plain = AesGcmOpen(key_, Aad(key), entry->value);
  if (!plain) {
    entry.reset();
    return;
  }
  entry->value = std::move(*plain);
}

Result<std::optional<SharedStore::Entry>> SealedStore::Get(std::string_view key, int64_t now) {
  auto got = inner_.Get(key, now);
  if (got) {
    Open(key, *got);
  }
  return got;
}

Result<SharedStore::Revalidation> SealedStore::GetIfChanged(std::string_view key, int64_t now,
                                                            uint64_t known_version) {
  auto got = inner_.GetIfChanged(key, now, known_version);
  if (got && !got->unchanged) {
    Open(key, got->entry);
  }
  return got;
}

}  // namespace coinpay
