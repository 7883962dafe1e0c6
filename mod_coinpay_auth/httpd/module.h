// What every glue file needs from httpd once: the module record, its log index (so APLOG_MARK
// logs under `LogLevel coinpay_auth:...`), and C++ objects whose lifetime an APR pool owns.
#pragma once

#include <httpd.h>
#include <apr_pools.h>
#include <http_config.h>
#include <http_log.h>

#include <utility>

extern "C" module AP_MODULE_DECLARE_DATA coinpay_auth_module;
APLOG_USE_MODULE(coinpay_auth);

namespace coinpay::httpd {

// A new T that `pool` deletes when it is cleared or destroyed (a config object lives as long
// as the configuration, a request's as long as the request).
template <typename T, typename... Args>
T* PoolNew(apr_pool_t* pool, Args&&... args) {
  T* obj = new T(std::forward<Args>(args)...);
  apr_pool_cleanup_register(
      pool, obj,
      [](void* p) -> apr_status_t {
        delete static_cast<T*>(p);
        return APR_SUCCESS;
      },
      apr_pool_cleanup_null);
  return obj;
}

}  // namespace coinpay::httpd
