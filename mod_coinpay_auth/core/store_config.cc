// The session store's settings: CoinpaySessionStore's value (shm or a Redis URL) and the sizes.
#include "core/store_config.h"

#include <cstdlib>
#include <string>

namespace coinpay {

Result<RedisOptions> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Error{Errc::kConfig, "must look like redis://[:password@]host[:port][/db]"};
  }
  RedisOptions o;
  std::string_view rest = url.substr(kScheme.size());
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    size_t colon = auth.find(':');
    o.password = std::string(colon == std::string_view::npos ? auth : auth.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    std::string db(rest.substr(slash + 1));
    char* end = nullptr;
    long v = std::strtol(db.c_str(), &end, 10);
    if (*end != '\0' || v < 0 || v > 1000) {
      return Error{Errc::kConfig, "has a database number that is not a small integer"};
    }
    o.db = static_cast<int>(v);
  }
  size_t colon = hostport.rfind(':');
  if (colon != std::string_view::npos) {
    std::string port(hostport.substr(colon + 1));
    char* end = nullptr;
    long v = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || v <= 0 || v > 65535) {
      return Error{Errc::kConfig, "has a port that is not a number from 1 to 65535"};
    }
    o.port = static_cast<int>(v);
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) {
    return Error{Errc::kConfig, "names no host"};
  }
  o.host = std::string(hostport);
  return o;
}

namespace {
// 2^20 MiB: the pool's block indices stay within 31 bits.
constexpr int64_t kMaxValueMemoryMiB = int64_t{1} << 20;

// CoinpaySessionValueMemory, when given, must hold one largest entry: else the first record of
// that size could never be stored whatever was evicted.
Result<StoreConfig> CheckValueMemory(const SiteSettings& main, StoreConfig out) {
  const int64_t mib = main.session_value_memory.value;
  if (mib == 0) {
    return out;  // derived from the capacity by the store, always room for one entry
  }
  if (mib > kMaxValueMemoryMiB) {
    return Error{Errc::kConfig, "CoinpaySessionValueMemory " + std::to_string(mib) +
                                    " MiB is more than the store can address: give at most " +
                                    std::to_string(kMaxValueMemoryMiB) + " MiB"};
  }
  out.value_bytes = static_cast<size_t>(mib) << 20;
  if (out.value_bytes < out.entry_size) {
    const size_t need = (out.entry_size + (size_t{1} << 20) - 1) >> 20;
    return Error{Errc::kConfig,
                 "CoinpaySessionValueMemory " + std::to_string(mib) +
                     " MiB cannot hold one entry of CoinpaySessionEntrySize " +
                     std::to_string(out.entry_size) +
                     " bytes: raise CoinpaySessionValueMemory to " + std::to_string(need) +
                     " or more (about 3 KiB per signed-in user), or lower CoinpaySessionEntrySize"};
  }
  return out;
}
}  // namespace

Result<StoreConfig> BuildStoreConfig(const SiteSettings& main, bool has_passphrase) {
  StoreConfig out;
  out.capacity = static_cast<size_t>(main.session_capacity.value);
  out.entry_size = static_cast<size_t>(main.session_entry_size.value);
  if (main.session_store.value == "shm") {
    return CheckValueMemory(main, out);
  }
  auto redis = ParseRedisUrl(main.session_store.value);
  if (!redis) {
    return Error{Errc::kConfig, "CoinpaySessionStore " + redis.error().detail +
                                    " (write shm, or redis://[:password@]host:port/db)"};
  }
  if (!has_passphrase) {
    return Error{
        Errc::kConfig,
        "CoinpaySessionStore redis:// needs CoinpayCryptoPassphrase (it encrypts sessions "
        "at rest): set a long random secret, e.g. the output of `openssl rand -base64 32`"};
  }
  out.redis = true;
  out.redis_options = std::move(*redis);
  out.redis_options.timeout_ms = static_cast<long>(main.redis_timeout.value * 1000);
  out.redis_options.tracking = main.redis_tracking.value;
  return out;
}

}  // namespace coinpay
