// Where session records live between requests. Implementations: the apr_shm table shared by all
// children (platform/shm_session_store) and, for several nodes, Redis.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "coinpay_auth/result.h"

namespace coinpay {

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // Stores `value` under `key` until Unix time `expires_at`, replacing any previous value.
  // A value larger than the store's entry size is Errc::kStoreFull (the operator can act on it).
  virtual Status Put(std::string_view key, std::string_view value, int64_t expires_at) = 0;
  // The value, or std::nullopt when absent or expired at `now`. Marks the entry recently used.
  virtual Result<std::optional<std::string>> Get(std::string_view key, int64_t now) = 0;
  virtual Status Erase(std::string_view key) = 0;

  // Stores `value` only when `key` is absent or expired at `now`; true when it stored it. Atomic
  // across every process sharing the store: the refresh single flight takes its lock with it.
  virtual Result<bool> Add(std::string_view key, std::string_view value, int64_t expires_at,
                           int64_t now) = 0;
  // Erases `key` only while it still holds `expected` (a lock released by its owner only).
  virtual Status EraseIfEquals(std::string_view key, std::string_view expected) = 0;
};

}  // namespace coinpay
