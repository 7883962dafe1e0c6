// Slot 0 counts what belongs to no provider; slots 1.. go to the (site, provider) pairs in
// server order. Two virtual hosts with the same name, port and provider share a slot: their
// series would carry the same labels, which Prometheus cannot tell apart anyway.
#include "httpd/metrics_runtime.h"

#include <http_config.h>
#include <http_log.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/identity.h"
#include "httpd/module.h"
#include "httpd/retained_region.h"
#include "httpd/runtime.h"
#include "platform/shared_counters.h"
#include "platform/redis_store.h"
#include "platform/shm_store.h"

namespace coinpay::httpd {
namespace {

// "-2": the record kept under it grew a field; an older module's smaller record is not read.
constexpr char kRetainedKey[] = "mod_coinpay_auth/metrics-shm-2";

struct MetricsProcess {
  Metrics metrics;
  std::vector<std::pair<std::string, std::string>> slot_labels;  // [0] unused: the global slot
};

MetricsProcess& TheMetrics() {
  static auto* m = new MetricsProcess();  // as long as the process, like the other runtime
  return *m;
}

std::string SiteLabel(server_rec* v) {
  std::string host = v->server_hostname != nullptr ? v->server_hostname : "";
  return v->port != 0 ? host + ":" + std::to_string(v->port) : host;
}

}  // namespace

Status SetUpMetrics(server_rec* main) {
  MetricsProcess& mp = TheMetrics();
  mp.slot_labels.assign(1, {});
  std::map<std::pair<std::string, std::string>, size_t> slot_of;
  std::vector<std::pair<ProviderClient*, size_t>> attach;
  for (server_rec* v = main; v != nullptr; v = v->next) {
    VhostState* rt = VhostStateOf(v);
    if (rt == nullptr) {
      continue;
    }
    for (const auto& [name, client] : rt->providers) {
      std::pair<std::string, std::string> labels{SiteLabel(v), DisplayedProviderName(name)};
      auto [it, fresh] = slot_of.emplace(labels, mp.slot_labels.size());
      if (fresh) {
        mp.slot_labels.push_back(labels);
      }
      attach.emplace_back(client.get(), it->second);
    }
  }
  std::vector<std::string> flat;
  for (const auto& [site, provider] : mp.slot_labels) {
    flat.push_back(site);
    flat.push_back(provider);
  }
  const size_t slots = mp.slot_labels.size();
  const size_t size = SharedCounters::RegionSize(slots);
  const uint64_t fingerprint = SharedCounters::Fingerprint(flat);

  // Kept across graceful restarts (httpd/retained_region.h); Attach checks the fingerprint.
  Result<Metrics> metrics = Error{Errc::kConfig, ""};
  if (const RetainedRegion* kept = RetainedRegionOf(kRetainedKey, size, 0)) {
    metrics = SharedCounters::Attach(kept->base, kept->size, slots, fingerprint);
  }
  if (!metrics) {
    auto region = CreateRetainedRegion(main, kRetainedKey, size, 0, "metrics");
    if (!region) {
      return region.error();
    }
    metrics = SharedCounters::Create(region->base, region->size, slots, fingerprint);
    if (!metrics) {
      return metrics.error();
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, main,
                 "CPA00300: metrics: %" APR_SIZE_T_FMT " provider slot(s) counted from zero",
                 slots - 1);
  }
  mp.metrics = *metrics;
  for (auto& [client, slot] : attach) {
    client->AttachMetrics(mp.metrics, slot);
  }
  if (RedisStore* redis = ProcessRedisStore()) {
    redis->AttachMetrics(mp.metrics);
  }
  return OkStatus();
}

StatusReport GatherStatus(int64_t now) {
  MetricsProcess& mp = TheMetrics();
  StatusReport report;
  report.now = now;
  report.global = mp.metrics.Read(0);
  for (size_t slot = 1; slot < mp.slot_labels.size(); ++slot) {
    report.providers.push_back(StatusReport::Provider{
        mp.slot_labels[slot].first, mp.slot_labels[slot].second, mp.metrics.Read(slot)});
  }
  ShmStore* shm = ProcessShmStore();
  report.store.kind = ProcessStoreKind();
  if (shm != nullptr) {
    auto stats = shm->GetStats();
    if (stats) {
      report.store.has_stats = true;
      report.store.entries = stats->live_entries;
      report.store.capacity = stats->capacity;
      report.store.entry_size_bytes = stats->entry_size;
      report.store.size_bytes = stats->region_bytes;
      report.store.value_bytes_capacity = stats->value_bytes_capacity;
      report.store.value_bytes_used = stats->value_bytes_used;
      report.store.evictions = stats->evictions;
      report.store.expired_reclaims = stats->expired_reclaims;
    } else {
      mp.metrics.Count(0, Metric::kStoreError);
    }
  }
  return report;
}

}  // namespace coinpay::httpd
