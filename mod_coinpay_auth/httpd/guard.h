// Where httpd calls into the module, nothing thrown may cross back into its C code: every hook,
// authz provider and config callback runs its body through one of these guards.
//
//   return Guarded(r, 910, [&] { ...; return OK; });                 // a hook: 500 on a throw
//   return Guarded(r, 919, AUTHZ_GENERAL_ERROR, [&] { ... });        // any other answer
//   return Guarded(pool, 922, nullptr, [&] { ...; return config; }); // no request: pool log
//
// Each call site passes its own CPA tag (docs/log-tags.md); what was thrown is a bug of ours,
// logged at error, never the client's fault.
#pragma once

#include <exception>
#include <type_traits>

#include "httpd/module.h"

namespace coinpay::httpd {

template <typename F>
std::invoke_result_t<F&> Guarded(request_rec* r, int tag,
                                 std::type_identity_t<std::invoke_result_t<F&>> failure,
                                 F&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "CPA%05d: internal error: %s", tag, e.what());
  } catch (...) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "CPA%05d: internal error", tag);
  }
  return failure;
}

template <typename F>
int Guarded(request_rec* r, int tag, F&& body) noexcept {
  return Guarded(r, tag, static_cast<int>(HTTP_INTERNAL_SERVER_ERROR), body);
}

// Config time (no request): logged against the pool, which reaches the main error log.
template <typename F>
std::invoke_result_t<F&> Guarded(apr_pool_t* p, int tag,
                                 std::type_identity_t<std::invoke_result_t<F&>> failure,
                                 F&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    ap_log_perror(APLOG_MARK, APLOG_ERR, 0, p, "CPA%05d: internal error: %s", tag, e.what());
  } catch (...) {
    ap_log_perror(APLOG_MARK, APLOG_ERR, 0, p, "CPA%05d: internal error", tag);
  }
  return failure;
}

}  // namespace coinpay::httpd
