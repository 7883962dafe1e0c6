// The cells' arithmetic and the table that names every metric.
#include "core/metrics.h"

namespace coinpay {
namespace {

constexpr size_t kBucketsAt = kMetricCount;
constexpr size_t kSumAt = kBucketsAt + kLatencyBucketsSeconds.size() + 1;
constexpr size_t kOpenUntilAt = kSumAt + 1;
static_assert(kOpenUntilAt + 1 == Metrics::kCellsPerSlot);

constexpr std::string_view kSignins = "Sign-ins that reached the provider redirect.";
constexpr std::string_view kFailures =
    "Sign-ins that ended without a session (at the start or at the callback), by reason.";
constexpr std::string_view kEnded = "Sessions ended by the module, by reason.";
constexpr std::string_view kRefreshes =
    "Access-token refreshes: ok, failed, or waited on another request's refresh.";
constexpr std::string_view kBearerRefused = "Bearer tokens refused, by reason.";
constexpr std::string_view kJwks = "Fetches of the provider's signing keys (JWKS), by result.";
constexpr std::string_view kDiscovery = "Fetches of the provider's discovery document, by result.";
constexpr std::string_view kIntrospections = "Token introspection calls, by result.";
constexpr std::string_view kRedisChecks =
    "Redis store: session copies confirmed current, by who answered: tracking (Redis's "
    "invalidation messages, no round trip) or redis (a GETRANGE).";
constexpr std::string_view kRedisTracking =
    "Redis store: the invalidation channel of a process subscribed, lost (closed, silent or "
    "unreadable: the process asks Redis until it is back) or refused by Redis.";

// Indexed by Metric; the static_assert below keeps it in step with the enum.
constexpr MetricInfo kInfo[] = {
    {"coinpay_auth_signins_started", kSignins, "", "", false},
    {"coinpay_auth_signins_completed", "Sign-ins that created a session.", "", "", false},
    {"coinpay_auth_signin_failures", kFailures, "reason", "malformed", false},
    {"coinpay_auth_signin_failures", kFailures, "reason", "state", false},
    {"coinpay_auth_signin_failures", kFailures, "reason", "issuer_mismatch", false},
    {"coinpay_auth_signin_failures", kFailures, "reason", "provider_error", false},
    {"coinpay_auth_signin_failures", kFailures, "reason", "token_endpoint", false},
    {"coinpay_auth_signin_failures", kFailures, "reason", "id_token", false},
    {"coinpay_auth_signin_failures", kFailures, "reason", "userinfo", false},
    {"coinpay_auth_signin_failures", kFailures, "reason", "session_store", false},
    {"coinpay_auth_signin_failures", kFailures, "reason", "pushed_authorization", false},
    {"coinpay_auth_sessions_created", "Sessions created by a completed sign-in.", "", "", false},
    {"coinpay_auth_sessions_ended", kEnded, "reason", "logout", false},
    {"coinpay_auth_sessions_ended", kEnded, "reason", "backchannel_logout", false},
    {"coinpay_auth_sessions_ended", kEnded, "reason", "refresh_refused", false},
    {"coinpay_auth_refreshes", kRefreshes, "result", "ok", false},
    {"coinpay_auth_refreshes", kRefreshes, "result", "failed", false},
    {"coinpay_auth_refreshes", kRefreshes, "result", "waited", false},
    {"coinpay_auth_bearer_tokens_accepted", "Bearer tokens accepted.", "", "", false},
    {"coinpay_auth_bearer_tokens_refused", kBearerRefused, "reason", "missing", false},
    {"coinpay_auth_bearer_tokens_refused", kBearerRefused, "reason", "malformed", false},
    {"coinpay_auth_bearer_tokens_refused", kBearerRefused, "reason", "invalid", false},
    {"coinpay_auth_bearer_tokens_refused", kBearerRefused, "reason", "introspection", false},
    {"coinpay_auth_bearer_tokens_refused", kBearerRefused, "reason", "unavailable", false},
    {"coinpay_auth_jwks_fetches", kJwks, "result", "ok", false},
    {"coinpay_auth_jwks_fetches", kJwks, "result", "failed", false},
    {"coinpay_auth_discovery_fetches", kDiscovery, "result", "ok", false},
    {"coinpay_auth_discovery_fetches", kDiscovery, "result", "failed", false},
    {"coinpay_auth_introspections", kIntrospections, "result", "active", false},
    {"coinpay_auth_introspections", kIntrospections, "result", "inactive", false},
    {"coinpay_auth_introspections", kIntrospections, "result", "failed", false},
    {"coinpay_auth_circuit_openings", "Times a child's circuit breaker opened for this provider.",
     "", "", false},
    {"coinpay_auth_store_errors", "Session store operations that failed (store unavailable).", "",
     "", true},
    {"coinpay_auth_redis_session_checks", kRedisChecks, "answered_by", "tracking", true},
    {"coinpay_auth_redis_session_checks", kRedisChecks, "answered_by", "redis", true},
    {"coinpay_auth_redis_tracking_events", kRedisTracking, "event", "subscribed", true},
    {"coinpay_auth_redis_tracking_events", kRedisTracking, "event", "lost", true},
    {"coinpay_auth_redis_tracking_events", kRedisTracking, "event", "refused", true},
};
static_assert(std::size(kInfo) == kMetricCount, "one kInfo row per Metric");

}  // namespace

const MetricInfo& InfoOf(Metric m) { return kInfo[static_cast<size_t>(m)]; }

void Metrics::Observe(size_t slot, int64_t nanos) const noexcept {
  if (cells_ == nullptr || slot >= slots_) {
    return;
  }
  uint64_t n = nanos > 0 ? static_cast<uint64_t>(nanos) : 0;
  double seconds = static_cast<double>(n) / 1e9;
  size_t bucket = 0;
  while (bucket < kLatencyBucketsSeconds.size() && seconds > kLatencyBucketsSeconds[bucket]) {
    ++bucket;
  }
  Cell(slot, kBucketsAt + bucket).fetch_add(1, std::memory_order_relaxed);
  Cell(slot, kSumAt).fetch_add(n, std::memory_order_relaxed);
}

void Metrics::CircuitOpenUntil(size_t slot, int64_t until) const noexcept {
  if (cells_ == nullptr || slot >= slots_ || until <= 0) {
    return;
  }
  auto& cell = Cell(slot, kOpenUntilAt);
  uint64_t seen = cell.load(std::memory_order_relaxed);
  auto wanted = static_cast<uint64_t>(until);
  while (seen < wanted && !cell.compare_exchange_weak(seen, wanted, std::memory_order_relaxed)) {
  }
}

SlotSnapshot Metrics::Read(size_t slot) const {
  SlotSnapshot s;
  if (cells_ == nullptr || slot >= slots_) {
    return s;
  }
  for (size_t i = 0; i < kMetricCount; ++i) {
    s.counters[i] = Cell(slot, i).load(std::memory_order_relaxed);
  }
  for (size_t i = 0; i < s.latency_buckets.size(); ++i) {
    s.latency_buckets[i] = Cell(slot, kBucketsAt + i).load(std::memory_order_relaxed);
  }
  s.latency_sum_nanos = Cell(slot, kSumAt).load(std::memory_order_relaxed);
  s.circuit_open_until =
      static_cast<int64_t>(Cell(slot, kOpenUntilAt).load(std::memory_order_relaxed));
  return s;
}

}  // namespace coinpay
