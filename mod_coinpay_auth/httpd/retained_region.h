// Shared memory that outlives `apachectl graceful`: the parent remembers where a region is
// (ap_retained_data), so the next generation attaches to it instead of starting empty. Used by
// the session store and the metrics counters.
#pragma once

#include <httpd.h>

#include <cstddef>
#include <cstdint>

#include "core/result.h"

namespace coinpay::httpd {

struct RetainedRegion {
  void* base = nullptr;
  size_t size = 0;
  uint64_t shape = 0;  // what the owner laid out in it (sizes, a fingerprint): attach only if equal
};

// The region an earlier generation kept under `key` with this size and shape, or nullptr.
const RetainedRegion* RetainedRegionOf(const char* key, size_t size, uint64_t shape);

// A new region of `size` bytes in the process pool, remembered under `key` for the next
// generation; `what` names it in the error ("sessions", "metrics").
Result<RetainedRegion> CreateRetainedRegion(server_rec* main, const char* key, size_t size,
                                            uint64_t shape, const char* what);

}  // namespace coinpay::httpd
