// The shared counters of every site and provider: laid out in post_config (before the children
// fork, so all of them map the same cells), gathered for the status page.
#pragma once

#include <httpd.h>

#include <cstdint>

#include "core/metrics_exposition.h"
#include "core/result.h"

namespace coinpay::httpd {

// Gives each (virtual host, provider) pair its slot, maps the cells (kept across a graceful
// restart when the slots are unchanged) and attaches every provider client to them.
Status SetUpMetrics(server_rec* main);
// Everything the status page shows, read now.
StatusReport GatherStatus(int64_t now);

}  // namespace coinpay::httpd
