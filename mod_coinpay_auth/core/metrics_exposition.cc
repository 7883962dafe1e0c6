// One model of the status page, two renderings. Label values come from the configuration
// (host and provider names), still escaped: a quote or newline there must not break the format.
#include "core/metrics_exposition.h"

#include <cstdio>
#include <map>

#include "core/encoding.h"

namespace coinpay {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

std::string Nanos(uint64_t nanos) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llu.%09llu", static_cast<unsigned long long>(nanos / 1000000000),
                static_cast<unsigned long long>(nanos % 1000000000));
  return buf;
}

std::string Bound(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", seconds);
  return buf;
}

Labels ProviderLabels(const StatusReport::Provider& p) {
  return {{"site", p.site}, {"provider", p.provider}};
}

// Families in the order of first appearance; samples in slot order.
class Builder {
 public:
  MetricFamily& Family(const std::string& name, std::string_view help, const char* type) {
    auto [it, fresh] = index_.emplace(name, families_.size());
    if (fresh) {
      families_.push_back(MetricFamily{name, std::string(help), type, {}});
    }
    return families_[it->second];
  }
  std::vector<MetricFamily> Take() { return std::move(families_); }

 private:
  std::vector<MetricFamily> families_;
  std::map<std::string, size_t> index_;
};

void AddCounters(Builder& b, const StatusReport& report) {
  for (size_t i = 0; i < kMetricCount; ++i) {
    const MetricInfo& info = InfoOf(static_cast<Metric>(i));
    MetricFamily& f = b.Family(std::string(info.family) + "_total", info.help, "counter");
    auto add = [&](Labels labels, uint64_t value) {
      if (!info.label.empty()) {
        labels.emplace_back(info.label, info.value);
      }
      f.samples.push_back(MetricSample{f.name, std::move(labels), std::to_string(value)});
    };
    if (info.global) {
      add({}, report.global.counters[i]);
      continue;
    }
    for (const auto& p : report.providers) {
      add(ProviderLabels(p), p.values.counters[i]);
    }
  }
}

void AddLatency(Builder& b, const StatusReport& report) {
  MetricFamily& f = b.Family("coinpay_auth_provider_request_duration_seconds",
                             "Time of each HTTP call to a provider (discovery, keys, token, "
                             "userinfo, revocation, introspection), transport failures included.",
                             "histogram");
  for (const auto& p : report.providers) {
    uint64_t cumulative = 0;
    const auto& buckets = p.values.latency_buckets;
    for (size_t i = 0; i < buckets.size(); ++i) {
      cumulative += buckets[i];
      Labels labels = ProviderLabels(p);
      labels.emplace_back(
          "le", i < kLatencyBucketsSeconds.size() ? Bound(kLatencyBucketsSeconds[i]) : "+Inf");
      f.samples.push_back(
          MetricSample{f.name + "_bucket", std::move(labels), std::to_string(cumulative)});
    }
    f.samples.push_back(
        MetricSample{f.name + "_sum", ProviderLabels(p), Nanos(p.values.latency_sum_nanos)});
    f.samples.push_back(
        MetricSample{f.name + "_count", ProviderLabels(p), std::to_string(cumulative)});
  }
}

void AddGauges(Builder& b, const StatusReport& report) {
  MetricFamily& open = b.Family("coinpay_auth_circuit_open",
                                "1 while some child's circuit breaker refuses calls to this "
                                "provider (until its cool-down ends), else 0.",
                                "gauge");
  for (const auto& p : report.providers) {
    open.samples.push_back(MetricSample{open.name, ProviderLabels(p),
                                        p.values.circuit_open_until > report.now ? "1" : "0"});
  }
  const auto& s = report.store;
  MetricFamily& info = b.Family("coinpay_auth_store_info", "The session store in use.", "gauge");
  info.samples.push_back(MetricSample{info.name, {{"kind", s.kind}}, "1"});
  if (!s.has_stats) {
    return;
  }
  auto gauge = [&](const char* name, const char* help, uint64_t v, const char* type = "gauge") {
    MetricFamily& f = b.Family(name, help, type);
    f.samples.push_back(MetricSample{f.name, {}, std::to_string(v)});
  };
  gauge("coinpay_auth_store_entries",
        "Entries in use in the shared-memory store: sessions, plus back-channel logout indexes, "
        "refresh locks and replay markers when those are in use (some may have expired unseen).",
        s.entries);
  gauge("coinpay_auth_store_capacity_entries", "Entries the shared-memory store can hold.",
        s.capacity);
  gauge("coinpay_auth_store_entry_size_bytes", "The largest value one entry can hold.",
        s.entry_size_bytes);
  gauge("coinpay_auth_store_size_bytes",
        "Shared memory the store holds (allocated whole at startup).", s.size_bytes);
  gauge("coinpay_auth_store_value_bytes_capacity",
        "Bytes of the shared-memory store's value pool (CoinpaySessionValueMemory): the session "
        "records and indexes too large to stay in their entry.",
        s.value_bytes_capacity);
  gauge("coinpay_auth_store_value_bytes_used",
        "Bytes of the value pool holding values, in whole 512-byte blocks; when it nears the "
        "capacity, least recently used entries are evicted to make room.",
        s.value_bytes_used);
  gauge("coinpay_auth_store_evictions_total",
        "Live entries pushed out of the full shared-memory store (least recently used first).",
        s.evictions, "counter");
  gauge("coinpay_auth_store_expired_total",
        "Expired entries dropped from the shared-memory store (idle or too old sessions among "
        "them).",
        s.expired_reclaims, "counter");
}

std::string EscapeHelp(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeLabel(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"') {
      out += "\\\"";
    } else {
      out += EscapeHelp(std::string_view(&c, 1));
    }
  }
  return out;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::vector<MetricFamily> BuildFamilies(const StatusReport& report) {
  Builder b;
  AddCounters(b, report);
  AddLatency(b, report);
  AddGauges(b, report);
  return b.Take();
}

std::string RenderPrometheus(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const auto& f : families) {
    out += "# HELP " + f.name + " " + EscapeHelp(f.help) + "\n";
    out += "# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& s : f.samples) {
      out += s.name;
      if (!s.labels.empty()) {
        out += '{';
        for (size_t i = 0; i < s.labels.size(); ++i) {
          out += (i == 0 ? "" : ",") + s.labels[i].first + "=\"" + EscapeLabel(s.labels[i].second) +
                 "\"";
        }
        out += '}';
      }
      out += " " + s.value + "\n";
    }
  }
  return out;
}

std::string RenderJson(const std::vector<MetricFamily>& families) {
  std::string out = "{\"families\":[";
  for (size_t i = 0; i < families.size(); ++i) {
    const auto& f = families[i];
    out += (i == 0 ? "" : ",");
    out += "{\"name\":" + JsonString(f.name) + ",\"type\":" + JsonString(f.type) +
           ",\"help\":" + JsonString(f.help) + ",\"samples\":[";
    for (size_t j = 0; j < f.samples.size(); ++j) {
      const auto& s = f.samples[j];
      out += (j == 0 ? "" : ",");
      out += "{\"name\":" + JsonString(s.name) + ",\"labels\":{";
      for (size_t k = 0; k < s.labels.size(); ++k) {
        out += (k == 0 ? "" : ",") + JsonString(s.labels[k].first) + ":" +
               JsonString(s.labels[k].second);
      }
      out += "},\"value\":" + s.value + "}";
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

std::optional<StatusFormat> ParseStatusFormat(std::string_view query) {
  auto params = ParseQuery(query);
  if (!params) {
    return std::nullopt;
  }
  StatusFormat format = StatusFormat::kPrometheus;
  int seen = 0;
  for (const auto& [name, value] : *params) {
    if (name != "format") {
      continue;
    }
    if (++seen > 1) {
      return std::nullopt;
    }
    if (value == "json") {
      format = StatusFormat::kJson;
    } else if (value != "prometheus" && value != "text") {
      return std::nullopt;
    }
  }
  return format;
}

}  // namespace coinpay
