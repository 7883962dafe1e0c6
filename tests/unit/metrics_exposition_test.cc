// The status page's formats: exact Prometheus text for a known report, label escaping, JSON that
// parses and carries the same samples, and which ?format= values are accepted.
#include "core/metrics_exposition.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "core/json.h"

namespace coinpay {
namespace {

size_t At(Metric m) { return static_cast<size_t>(m); }

StatusReport OneProvider() {
  StatusReport r;
  r.now = 1000;
  r.global.counters[At(Metric::kStoreError)] = 2;
  StatusReport::Provider p{"example.com:443", "default", {}};
  p.values.counters[At(Metric::kSigninStarted)] = 5;
  p.values.counters[At(Metric::kSigninFailedState)] = 1;
  p.values.latency_buckets[0] = 3;  // <= 0.005
  p.values.latency_buckets[4] = 1;  // <= 0.1
  p.values.latency_sum_nanos = 1'234'567'890;
  p.values.circuit_open_until = 1030;
  r.providers.push_back(p);
  r.store.kind = "shm";
  r.store.has_stats = true;
  r.store.entries = 7;
  r.store.capacity = 100;
  r.store.entry_size_bytes = 4096;
  r.store.size_bytes = 500000;
  r.store.value_bytes_capacity = 262144;
  r.store.value_bytes_used = 3072;
  r.store.evictions = 1;
  r.store.expired_reclaims = 4;
  return r;
}

// The lines of `text` that start with `prefix`, in order.
std::vector<std::string> Lines(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) {
      out.push_back(line);
    }
  }
  return out;
}

TEST(MetricsExposition, CountersCarryHelpTypeAndTheirLabels) {
  std::string text = RenderPrometheus(BuildFamilies(OneProvider()));
  EXPECT_EQ(
      Lines(text, "coinpay_auth_signins_started_total"),
      std::vector<std::string>{
          R"(coinpay_auth_signins_started_total{site="example.com:443",provider="default"} 5)"});
  EXPECT_EQ(Lines(text, "# TYPE coinpay_auth_signins_started_total"),
            std::vector<std::string>{"# TYPE coinpay_auth_signins_started_total counter"});
  EXPECT_EQ(Lines(text, "# HELP coinpay_auth_signins_started_total").size(), 1u);
  auto failures = Lines(text, "coinpay_auth_signin_failures_total{");
  ASSERT_EQ(failures.size(), 9u);  // ... session_store, pushed_authorization
  EXPECT_EQ(
      failures[1],
      R"(coinpay_auth_signin_failures_total{site="example.com:443",provider="default",reason="state"} 1)");
  // One HELP and TYPE per family, however many members it has.
  EXPECT_EQ(Lines(text, "# TYPE coinpay_auth_signin_failures_total").size(), 1u);
  EXPECT_EQ(Lines(text, "coinpay_auth_store_errors_total"),
            std::vector<std::string>{"coinpay_auth_store_errors_total 2"});
}

TEST(MetricsExposition, LatencyIsACumulativeHistogramInSeconds) {
  std::string text = RenderPrometheus(BuildFamilies(OneProvider()));
  const std::string l = R"({site="example.com:443",provider="default")";
  const std::string n = "coinpay_auth_provider_request_duration_seconds";
  std::vector<std::string> want = {
      n + "_bucket" + l + R"(,le="0.005"} 3)", n + "_bucket" + l + R"(,le="0.01"} 3)",
      n + "_bucket" + l + R"(,le="0.025"} 3)", n + "_bucket" + l + R"(,le="0.05"} 3)",
      n + "_bucket" + l + R"(,le="0.1"} 4)",   n + "_bucket" + l + R"(,le="0.25"} 4)",
      n + "_bucket" + l + R"(,le="0.5"} 4)",   n + "_bucket" + l + R"(,le="1"} 4)",
      n + "_bucket" + l + R"(,le="2.5"} 4)",   n + "_bucket" + l + R"(,le="5"} 4)",
      n + "_bucket" + l + R"(,le="10"} 4)",    n + "_bucket" + l + R"(,le="+Inf"} 4)",
      n + "_sum" + l + "} 1.234567890",        n + "_count" + l + "} 4",
  };
  EXPECT_EQ(Lines(text, n + "_"), want);
  EXPECT_EQ(Lines(text, "# TYPE " + n), std::vector<std::string>{"# TYPE " + n + " histogram"});
}

TEST(MetricsExposition, GaugesShowTheCircuitAndTheStore) {
  StatusReport r = OneProvider();
  std::string text = RenderPrometheus(BuildFamilies(r));
  EXPECT_EQ(Lines(text, "coinpay_auth_circuit_open{"),
            std::vector<std::string>{
                R"(coinpay_auth_circuit_open{site="example.com:443",provider="default"} 1)"});
  EXPECT_EQ(Lines(text, "coinpay_auth_store_info"),
            std::vector<std::string>{R"(coinpay_auth_store_info{kind="shm"} 1)"});
  EXPECT_EQ(Lines(text, "coinpay_auth_store_entries "),
            std::vector<std::string>{"coinpay_auth_store_entries 7"});
  EXPECT_EQ(Lines(text, "coinpay_auth_store_capacity_entries "),
            std::vector<std::string>{"coinpay_auth_store_capacity_entries 100"});
  EXPECT_EQ(Lines(text, "coinpay_auth_store_evictions_total "),
            std::vector<std::string>{"coinpay_auth_store_evictions_total 1"});
  EXPECT_EQ(Lines(text, "coinpay_auth_store_size_bytes "),
            std::vector<std::string>{"coinpay_auth_store_size_bytes 500000"});
  EXPECT_EQ(Lines(text, "coinpay_auth_store_value_bytes_capacity "),
            std::vector<std::string>{"coinpay_auth_store_value_bytes_capacity 262144"});
  EXPECT_EQ(Lines(text, "coinpay_auth_store_value_bytes_used "),
            std::vector<std::string>{"coinpay_auth_store_value_bytes_used 3072"});
  EXPECT_EQ(Lines(text, "# TYPE coinpay_auth_store_value_bytes_used"),
            std::vector<std::string>{"# TYPE coinpay_auth_store_value_bytes_used gauge"});
  r.now = 1030;  // the cool-down is over: no child refuses calls any more
  text = RenderPrometheus(BuildFamilies(r));
  EXPECT_EQ(Lines(text, "coinpay_auth_circuit_open{"),
            std::vector<std::string>{
                R"(coinpay_auth_circuit_open{site="example.com:443",provider="default"} 0)"});
}

TEST(MetricsExposition, RedisReportsNoShmGauges) {
  StatusReport r = OneProvider();
  r.store = {};
  r.store.kind = "redis";
  std::string text = RenderPrometheus(BuildFamilies(r));
  EXPECT_EQ(Lines(text, "coinpay_auth_store_info"),
            std::vector<std::string>{R"(coinpay_auth_store_info{kind="redis"} 1)"});
  EXPECT_TRUE(Lines(text, "coinpay_auth_store_entries").empty());
}

TEST(MetricsExposition, LabelValuesAreEscaped) {
  StatusReport r;
  r.providers.push_back({"we\"ird\\host\nx", "p", {}});
  r.store.kind = "shm";
  std::string text = RenderPrometheus(BuildFamilies(r));
  EXPECT_EQ(Lines(text, "coinpay_auth_signins_started_total"),
            std::vector<std::string>{
                R"(coinpay_auth_signins_started_total{site="we\"ird\\host\nx",provider="p"} 0)"});
  // Every sample stays on one line: no raw newline from a label.
  for (const auto& line : Lines(text, "coinpay_auth_")) {
    EXPECT_EQ(line.back() >= '0' && line.back() <= '9', true) << line;
  }
}

TEST(MetricsExposition, NoProviderStillRendersEveryFamilyOnce) {
  StatusReport r;
  r.store.kind = "none";
  std::string text = RenderPrometheus(BuildFamilies(r));
  EXPECT_EQ(Lines(text, "# TYPE coinpay_auth_signins_started_total").size(), 1u);
  EXPECT_TRUE(Lines(text, "coinpay_auth_signins_started_total").empty());
}

TEST(MetricsExposition, JsonParsesAndCarriesTheSameSamples) {
  StatusReport r = OneProvider();
  r.providers.push_back({"we\"ird\\host\nx", "p", {}});
  auto families = BuildFamilies(r);
  auto json = Json::Parse(RenderJson(families));
  ASSERT_TRUE(json.ok()) << json.error().detail;
  std::map<std::string, std::string> from_json;
  Json fams = json->Get("families");
  ASSERT_EQ(fams.Size(), families.size());
  for (size_t i = 0; i < fams.Size(); ++i) {
    Json f = fams.At(i);
    EXPECT_EQ(f.GetString("name"), families[i].name);
    EXPECT_EQ(f.GetString("type"), families[i].type);
    EXPECT_EQ(f.GetString("help"), families[i].help);
    Json samples = f.Get("samples");
    for (size_t j = 0; j < samples.Size(); ++j) {
      Json s = samples.At(j);
      const auto& want = families[i].samples[j];
      Json labels = s.Get("labels");
      ASSERT_EQ(labels.Size(), want.labels.size());
      for (const auto& [k, v] : want.labels) {
        EXPECT_EQ(labels.GetString(k), v);  // escaped on the way out, the same value back
      }
      EXPECT_EQ(s.GetString("name"), want.name);
      double v = s.Get("value").AsNumber();
      EXPECT_DOUBLE_EQ(v, std::stod(want.value)) << want.name;
    }
  }
}

TEST(MetricsExposition, FormatIsTextByDefaultJsonOnRequestAndNothingElse) {
  EXPECT_EQ(ParseStatusFormat(""), StatusFormat::kPrometheus);
  EXPECT_EQ(ParseStatusFormat("format=prometheus"), StatusFormat::kPrometheus);
  EXPECT_EQ(ParseStatusFormat("format=json"), StatusFormat::kJson);
  EXPECT_EQ(ParseStatusFormat("x=1&format=json"), StatusFormat::kJson);
  EXPECT_EQ(ParseStatusFormat("format=xml"), std::nullopt);
  EXPECT_EQ(ParseStatusFormat("format=json&format=json"), std::nullopt);
  EXPECT_EQ(ParseStatusFormat("format=%zz"), std::nullopt);
}

}  // namespace
}  // namespace coinpay
