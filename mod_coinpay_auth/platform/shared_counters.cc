// The header and the placement of the atomics. std::atomic<uint64_t> must be lock-free (then it
// is a plain 8-byte word that works across processes); the static_assert holds on every
// platform httpd runs on with 64-bit atomics.
#include "platform/shared_counters.h"

#include <atomic>
#include <new>

namespace coinpay {
namespace {

static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "shared counters need lock-free 64-bit atomics");
static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t));

constexpr uint64_t kMagic = 0x434f494e4d455452;  // "COINMETR"

struct Header {
  uint64_t magic;
  uint64_t layout_version;
  uint64_t cells_per_slot;
  uint64_t slots;
  uint64_t fingerprint;
  uint64_t reserved[3];
};
static_assert(sizeof(Header) % 8 == 0);

Status CheckRegion(void* base, size_t size, size_t slots) {
  if (base == nullptr || reinterpret_cast<uintptr_t>(base) % alignof(std::atomic<uint64_t>) != 0) {
    return Error{Errc::kConfig, "metrics region is not aligned"};
  }
  if (slots == 0 || size < SharedCounters::RegionSize(slots)) {
    return Error{Errc::kConfig, "metrics region is too small"};
  }
  return OkStatus();
}

std::atomic<uint64_t>* CellsOf(void* base) {
  return reinterpret_cast<std::atomic<uint64_t>*>(static_cast<unsigned char*>(base) +
                                                  sizeof(Header));
}

}  // namespace

size_t SharedCounters::RegionSize(size_t slots) {
  return sizeof(Header) + Metrics::CellsFor(slots) * sizeof(std::atomic<uint64_t>);
}

uint64_t SharedCounters::Fingerprint(const std::vector<std::string>& slot_labels) {
  uint64_t h = 0xcbf29ce484222325;  // FNV-1a
  for (const auto& label : slot_labels) {
    for (unsigned char c : label) {
      h = (h ^ c) * 0x100000001b3;
    }
    h = (h ^ 0xff) * 0x100000001b3;  // a separator no label contains
  }
  return h;
}

Result<Metrics> SharedCounters::Create(void* base, size_t size, size_t slots,
                                       uint64_t fingerprint) {
  if (auto st = CheckRegion(base, size, slots); !st) {
    return st.error();
  }
  auto* header = new (base) Header{};
  header->magic = kMagic;
  header->layout_version = kMetricsLayoutVersion;
  header->cells_per_slot = Metrics::kCellsPerSlot;
  header->slots = slots;
  header->fingerprint = fingerprint;
  std::atomic<uint64_t>* cells = CellsOf(base);
  for (size_t i = 0; i < Metrics::CellsFor(slots); ++i) {
    new (&cells[i]) std::atomic<uint64_t>(0);
  }
  return Metrics(cells, slots);
}

Result<Metrics> SharedCounters::Attach(void* base, size_t size, size_t slots,
                                       uint64_t fingerprint) {
  if (auto st = CheckRegion(base, size, slots); !st) {
    return st.error();
  }
  const auto* header = static_cast<const Header*>(base);
  if (header->magic != kMagic || header->layout_version != kMetricsLayoutVersion ||
      header->cells_per_slot != Metrics::kCellsPerSlot || header->slots != slots ||
      header->fingerprint != fingerprint) {
    return Error{Errc::kConfig, "metrics region holds another layout"};
  }
  return Metrics(CellsOf(base), slots);
}

}  // namespace coinpay
