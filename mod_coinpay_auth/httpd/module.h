// What every glue file needs from httpd once: the module record, its log index (so APLOG_MARK
// logs under `LogLevel coinpay_auth:...`), and C++ objects whose lifetime an APR pool owns.
#pragma once

#include <httpd.h>
#include <apr_pools.h>
#include <http_config.h>
#include <http_log.h>

#include <new>
#include <utility>

extern "C" module AP_MODULE_DECLARE_DATA coinpay_auth_module;
APLOG_USE_MODULE(coinpay_auth);

namespace coinpay::httpd {

// A new T that `pool` destroys when it is cleared or destroyed (a config object lives as long
// as the configuration, a request's as long as the request). Made in the pool's own memory
// (apr_palloc aligns to 8 bytes): a request's record then costs no malloc and no free, only
// its destructor.
template <typename T, typename... Args>
T* PoolNew(apr_pool_t* pool, Args&&... args) {
  static_assert(alignof(T) <= 8, "apr_palloc aligns to 8 bytes");
  T* obj = new (apr_palloc(pool, sizeof(T))) T(std::forward<Args>(args)...);
  apr_pool_cleanup_register(
      pool, obj,
      [](void* p) -> apr_status_t {
        static_cast<T*>(p)->~T();
        return APR_SUCCESS;
      },
      apr_pool_cleanup_null);
  return obj;
}

}  // namespace coinpay::httpd
