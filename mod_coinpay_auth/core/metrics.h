// Counters and a latency histogram that every httpd child adds to, read by the status handler.
// The cells are a plain array of atomics in memory someone else provides (shared memory from the
// glue, a vector in tests); a default-constructed Metrics has none and counts nothing, so core
// code counts unconditionally and unit tests and fuzz targets need nothing.
//
//   provider.Count(Metric::kSigninStarted);      // one relaxed fetch_add; no lock, no allocation
//   metrics.Observe(slot, elapsed_nanoseconds);  // a histogram bucket, the count and the sum
//
// Cells are grouped in slots: slot 0 holds what belongs to no provider (store errors); slot
// 1..n one (site, provider) pair each, named by the glue when it renders them.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace coinpay {

// Every counted event. Families (one metric name with a reason/result label) are described in
// core/metrics.cc; appending here keeps the shared layout valid only with a new kLayoutVersion.
enum class Metric : uint16_t {
  kSigninStarted,
  kSigninCompleted,
  kSigninFailedMalformed,
  kSigninFailedState,
  kSigninFailedIssuer,
  kSigninFailedProviderError,
  kSigninFailedTokenEndpoint,
  kSigninFailedIdToken,
  kSigninFailedUserinfo,
  kSigninFailedSessionStore,
  kSigninFailedPushedAuthorization,  // the PAR call at sign-in start failed (RFC 9126)
  kSessionCreated,
  kSessionEndedLogout,
  kSessionEndedBackchannel,
  kSessionEndedRefreshRefused,
  kRefreshOk,
  kRefreshFailed,
  kRefreshWaited,
  kBearerAccepted,
  kBearerRefusedMissing,
  kBearerRefusedMalformed,
  kBearerRefusedInvalid,
  kBearerRefusedIntrospection,
  kBearerRefusedUnavailable,
  kJwksFetchOk,
  kJwksFetchFailed,
  kDiscoveryFetchOk,
  kDiscoveryFetchFailed,
  kIntrospectionActive,
  kIntrospectionInactive,
  kIntrospectionFailed,
  kCircuitOpened,
  kStoreError,  // slot 0 only
  // Redis (slot 0 only): how a session copy was confirmed, and the invalidation channel.
  kRedisCheckByTracking,  // counted in batches of kRedisTrackingBatch
  kRedisCheckByRedis,
  kRedisTrackingSubscribed,
  kRedisTrackingLost,
  kRedisTrackingRefused,
  kCount
};

constexpr size_t kMetricCount = static_cast<size_t>(Metric::kCount);
// Upper bounds of the provider-call latency buckets, in seconds (+Inf is implied).
constexpr std::array<double, 11> kLatencyBucketsSeconds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                           0.5,   1,    2.5,   5,    10};
// Bumped whenever the cells' meaning changes, so a graceful restart into a new module version
// starts from zero instead of misreading the old counters.
constexpr uint64_t kMetricsLayoutVersion = 3;

// One slot's values, copied out of the cells (each cell read once, relaxed).
struct SlotSnapshot {
  std::array<uint64_t, kMetricCount> counters{};
  // Per bucket (not cumulative); the last one is +Inf.
  std::array<uint64_t, kLatencyBucketsSeconds.size() + 1> latency_buckets{};
  uint64_t latency_sum_nanos = 0;
  int64_t circuit_open_until = 0;  // Unix seconds; 0: never opened
};

class Metrics {
 public:
  // Cells per slot, and for `slots` slots in all.
  static constexpr size_t kCellsPerSlot = kMetricCount + kLatencyBucketsSeconds.size() + 1 + 2;
  static constexpr size_t CellsFor(size_t slots) { return slots * kCellsPerSlot; }

  Metrics() = default;  // counts nothing
  // `cells` holds CellsFor(slots) atomics, zeroed or carried over; they outlive this object.
  Metrics(std::atomic<uint64_t>* cells, size_t slots) : cells_(cells), slots_(slots) {}

  bool enabled() const { return cells_ != nullptr; }
  size_t slots() const { return slots_; }

  void Count(size_t slot, Metric m, uint64_t n = 1) const noexcept {
    if (cells_ != nullptr && slot < slots_) {
      Cell(slot, static_cast<size_t>(m)).fetch_add(n, std::memory_order_relaxed);
    }
  }
  // A provider call that took `nanos` (negative: a clock step, counted as 0).
  void Observe(size_t slot, int64_t nanos) const noexcept;
  // The circuit breaker of some child opened for this slot's provider until `until`; the
  // latest such time is kept, so the gauge shows open while any child refuses calls.
  void CircuitOpenUntil(size_t slot, int64_t until) const noexcept;

  SlotSnapshot Read(size_t slot) const;

 private:
  std::atomic<uint64_t>& Cell(size_t slot, size_t index) const {
    return cells_[slot * kCellsPerSlot + index];
  }

  std::atomic<uint64_t>* cells_ = nullptr;
  size_t slots_ = 0;
};

// Heap cells for tests and for processes without shared memory.
class LocalMetrics {
 public:
  explicit LocalMetrics(size_t slots)
      : cells_(Metrics::CellsFor(slots)), metrics_(cells_.data(), slots) {}
  const Metrics& metrics() const { return metrics_; }

 private:
  std::vector<std::atomic<uint64_t>> cells_;
  Metrics metrics_;
};

// A metric's family (its exposed name without the _total suffix), its help text, the label that
// tells its members apart ("" when it has none) and this member's label value.
struct MetricInfo {
  std::string_view family;
  std::string_view help;
  std::string_view label;
  std::string_view value;
  bool global;  // counted in slot 0, rendered without a provider label
};
const MetricInfo& InfoOf(Metric m);

}  // namespace coinpay
