#include "httpd/retained_region.h"

#include <string>

#include "httpd/module.h"
#include "platform/shm_store.h"

namespace coinpay::httpd {

const RetainedRegion* RetainedRegionOf(const char* key, size_t size, uint64_t shape) {
  const auto* kept = static_cast<const RetainedRegion*>(ap_retained_data_get(key));
  if (kept == nullptr || kept->base == nullptr || kept->size != size || kept->shape != shape) {
    return nullptr;
  }
  return kept;
}

Result<RetainedRegion> CreateRetainedRegion(server_rec* main, const char* key, size_t size,
                                            uint64_t shape, const char* what) {
  auto region = ShmRegion::Create(main->process->pool, size);
  if (!region) {
    return Error{Errc::kConfig, "cannot create " + std::to_string(size) +
                                    " bytes of shared memory for " + what + ": " +
                                    region.error().detail};
  }
  auto* kept = static_cast<RetainedRegion*>(ap_retained_data_get(key));
  if (kept == nullptr) {
    kept = static_cast<RetainedRegion*>(ap_retained_data_create(key, sizeof(RetainedRegion)));
  }
  // The size asked for (the system may round up): what the next generation compares.
  *kept = RetainedRegion{region->base(), size, shape};
  return *kept;
}

}  // namespace coinpay::httpd
