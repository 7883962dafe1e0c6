// `SetHandler coinpay-status`: the module's counters and gauges for Prometheus (or as JSON with
// ?format=json). An ordinary location, so operators restrict it with Require.
#pragma once

#include <httpd.h>

namespace coinpay::httpd {

int HandleStatus(request_rec* r);

}  // namespace coinpay::httpd
