// The status page's two formats, rendered from one model so they always agree: Prometheus text
// exposition 0.0.4 (what `SetHandler coinpay-status` serves by default) and JSON (?format=json).
//
//   StatusReport report{...};              // snapshots and gauges, gathered by the glue
//   auto families = BuildFamilies(report);  // every metric, every sample
//   std::string text = RenderPrometheus(families);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/metrics.h"

namespace coinpay {

struct StatusReport {
  int64_t now = 0;  // Unix seconds: decides whether a circuit is open
  SlotSnapshot global;
  struct Provider {
    std::string site;      // the virtual host (ServerName:port)
    std::string provider;  // the provider's name; "default" for the top-level one
    SlotSnapshot values;
  };
  std::vector<Provider> providers;
  struct Store {
    std::string kind;  // "shm" or "redis"
    // Shared memory only (Redis has its own INFO): entries in use, capacity, sizes, evictions.
    bool has_stats = false;
    uint64_t entries = 0;
    uint64_t capacity = 0;
    uint64_t entry_size_bytes = 0;
    uint64_t size_bytes = 0;
    uint64_t value_bytes_capacity = 0;  // the pool of value blocks, and the part holding values
    uint64_t value_bytes_used = 0;
    uint64_t evictions = 0;
    uint64_t expired_reclaims = 0;
  };
  Store store;
};

struct MetricSample {
  std::string name;  // the family name plus _bucket/_sum/_count for histograms
  std::vector<std::pair<std::string, std::string>> labels;
  std::string value;  // already a number in both formats' syntax
};

struct MetricFamily {
  std::string name;
  std::string help;
  std::string type;  // counter, gauge, histogram
  std::vector<MetricSample> samples;
};

std::vector<MetricFamily> BuildFamilies(const StatusReport& report);

// text/plain; version=0.0.4
std::string RenderPrometheus(const std::vector<MetricFamily>& families);
// {"families":[{"name":...,"type":...,"help":...,"samples":[{"name":...,"labels":{...},
// "value":N}]}]}
std::string RenderJson(const std::vector<MetricFamily>& families);

// What `format=` asks for: nullopt for anything but absent/"prometheus"/"text" and "json".
enum class StatusFormat { kPrometheus, kJson };
std::optional<StatusFormat> ParseStatusFormat(std::string_view query);

}  // namespace coinpay
