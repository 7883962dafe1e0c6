// Reads the shared counters (no lock: each cell is one relaxed load) and writes them in the
// format asked for. Scrapes are rare next to requests, so the page is built in full each time.
#include "httpd/status_handler.h"

#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>

#include <cstring>
#include <string>

#include "core/metrics_exposition.h"
#include "core/pages.h"
#include "httpd/guard.h"
#include "httpd/metrics_runtime.h"
#include "httpd/module.h"
#include "httpd/request_adapter.h"
#include "httpd/runtime.h"

namespace coinpay::httpd {

int HandleStatus(request_rec* r) {
  if (r->handler == nullptr || strcmp(r->handler, "coinpay-status") != 0) {
    return DECLINED;
  }
  return Guarded(r, 302, [&] {
    apr_int64_t methods = AP_METHOD_BIT << M_GET;  // HEAD arrives as M_GET
    if (r->method_number != M_GET) {
      r->allowed = methods;
      r->allowed_methods->method_mask = methods;
      return static_cast<int>(HTTP_METHOD_NOT_ALLOWED);
    }
    auto format = ParseStatusFormat(r->args != nullptr ? r->args : "");
    if (!format) {
      ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                    "CPA00301: status page asked for an unknown format (use format=json or none)");
      return Respond(r, ErrorPage(ErrorKind::kBadRequest, 400, "Unknown format",
                                  "This page is available as Prometheus text (the default) or "
                                  "as JSON (?format=json)."));
    }
    auto families = BuildFamilies(GatherStatus(ProcessClock().NowSeconds()));
    std::string body;
    if (*format == StatusFormat::kJson) {
      body = RenderJson(families);
      ap_set_content_type(r, "application/json");
    } else {
      body = RenderPrometheus(families);
      ap_set_content_type(r, "text/plain; version=0.0.4");
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
      ap_rwrite(body.data(), static_cast<int>(body.size()), r);
    }
    return static_cast<int>(OK);
  });
}

}  // namespace coinpay::httpd
