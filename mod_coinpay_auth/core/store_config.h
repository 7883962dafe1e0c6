// Where sessions live, server-wide: the main server's CoinpaySessionStore (shared memory or a
// Redis URL) and the shared-memory sizes. Checked by `apachectl -t`; the glue opens the store.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/site_settings.h"

namespace coinpay {

// How to reach Redis (platform/redis_store.h connects).
struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;
  long timeout_ms = 1000;  // connect and per-command
  std::string prefix = "coinpay:";
  // CoinpayRedisTracking: learn of changes from Redis's invalidation messages instead of asking
  // on every request (platform/redis_store.h).
  bool tracking = true;
};

// redis://[:password@]host[:port][/db]; the message says what is wrong (never the password).
Result<RedisOptions> ParseRedisUrl(std::string_view url);

struct StoreConfig {
  bool redis = false;  // else shared memory
  RedisOptions redis_options;
  size_t capacity = 0;    // shared memory: entries
  size_t entry_size = 0;  // shared memory: the largest value one entry may hold
  // Shared memory: bytes of the pool that holds the values (CoinpaySessionValueMemory); 0 when
  // not given, and the store derives it from the capacity (platform/shm_store.h PoolBytes).
  size_t value_bytes = 0;
};

// The main server's store settings, or the message naming CoinpaySessionStore and the fix.
// `has_passphrase`: some server sets CoinpayCryptoPassphrase (Redis values are sealed at rest
// with a key derived from the first one, so Redis needs it).
Result<StoreConfig> BuildStoreConfig(const SiteSettings& main, bool has_passphrase);

}  // namespace coinpay
