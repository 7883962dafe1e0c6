// The metrics cells (core/metrics.h) in a shared-memory region the parent maps before httpd
// forks its children, so every child adds to the same counters without a lock. A small header
// names the layout; a graceful restart whose slots are the same (same layout version, same
// sites and providers in the same order) attaches and keeps counting from where it was.
//
//   auto region = ShmRegion::Create(pool, SharedCounters::RegionSize(slots));
//   auto metrics = SharedCounters::Create(region->base(), region->size(), slots, fingerprint);
//   ... after `apachectl graceful`, with the same region:
//   auto metrics = SharedCounters::Attach(base, size, slots, fingerprint);  // kConfig: changed
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"

namespace coinpay {

class SharedCounters {
 public:
  // Bytes a region needs for `slots` slots.
  static size_t RegionSize(size_t slots);
  // A fingerprint of what the slots mean (their labels in order): attaching to counters made
  // for other labels would report one provider's numbers under another's name.
  static uint64_t Fingerprint(const std::vector<std::string>& slot_labels);

  // Zeroes the region and lays out `slots` slots; `base` must be 8-byte aligned.
  static Result<Metrics> Create(void* base, size_t size, size_t slots, uint64_t fingerprint);
  // The counters Create left in this region, if they have this layout; kConfig otherwise.
  static Result<Metrics> Attach(void* base, size_t size, size_t slots, uint64_t fingerprint);
};

}  // namespace coinpay
