// Serves the JWKS post_config built (VhostState::published_jwks); nothing is computed per request.
#include "httpd/jwks_handler.h"

#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>

#include <cstring>

#include "httpd/guard.h"
#include "httpd/module.h"
#include "httpd/runtime.h"

namespace coinpay::httpd {

int HandleJwks(request_rec* r) {
  if (r->handler == nullptr || strcmp(r->handler, "coinpay-jwks") != 0) {
    return DECLINED;
  }
  return Guarded(r, 406, [&] {
    apr_int64_t methods = AP_METHOD_BIT << M_GET;  // HEAD arrives as M_GET
    if (r->method_number != M_GET) {
      r->allowed = methods;
      r->allowed_methods->method_mask = methods;
      return static_cast<int>(HTTP_METHOD_NOT_ALLOWED);
    }
    VhostState* rt = VhostStateOf(r->server);
    if (rt == nullptr || rt->published_jwks.empty()) {
      ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                    "CPA00405: SetHandler coinpay-jwks in a virtual host without "
                    "CoinpayPrivateKeyFile: there are no keys to publish");
      return static_cast<int>(HTTP_NOT_FOUND);
    }
    ap_set_content_type(r, "application/jwk-set+json");
    // Short enough that a provider sees a newly listed key soon after a restart.
    apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=300");
    if (!r->header_only) {
      ap_rwrite(rt->published_jwks.data(), static_cast<int>(rt->published_jwks.size()), r);
    }
    return static_cast<int>(OK);
  });
}

}  // namespace coinpay::httpd
