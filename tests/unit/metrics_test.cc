// The counters themselves: per slot, no-op when unset, the latency histogram's buckets, the
// circuit's shared open-until time, and many forked processes adding to one shared mapping.
#include "core/metrics.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "platform/shared_counters.h"

namespace coinpay {
namespace {

TEST(Metrics, UnsetMetricsCountNothingAndReadZero) {
  Metrics none;
  none.Count(1, Metric::kSigninStarted);
  none.Observe(1, 5'000'000);
  none.CircuitOpenUntil(1, 123);
  SlotSnapshot s = none.Read(1);
  EXPECT_EQ(s.counters[static_cast<size_t>(Metric::kSigninStarted)], 0u);
  EXPECT_EQ(s.latency_sum_nanos, 0u);
  EXPECT_FALSE(none.enabled());
}

TEST(Metrics, EachSlotCountsItsOwnEvents) {
  LocalMetrics local(3);
  const Metrics& m = local.metrics();
  m.Count(1, Metric::kSigninStarted);
  m.Count(1, Metric::kSigninStarted);
  m.Count(2, Metric::kSigninStarted);
  m.Count(2, Metric::kSessionEndedBackchannel, 3);
  m.Count(7, Metric::kSigninStarted);  // no such slot: ignored, never out of bounds
  EXPECT_EQ(m.Read(1).counters[static_cast<size_t>(Metric::kSigninStarted)], 2u);
  EXPECT_EQ(m.Read(2).counters[static_cast<size_t>(Metric::kSigninStarted)], 1u);
  EXPECT_EQ(m.Read(2).counters[static_cast<size_t>(Metric::kSessionEndedBackchannel)], 3u);
  EXPECT_EQ(m.Read(0).counters[static_cast<size_t>(Metric::kSigninStarted)], 0u);
}

TEST(Metrics, LatencyLandsInTheFirstBucketAtOrAboveIt) {
  LocalMetrics local(2);
  const Metrics& m = local.metrics();
  m.Observe(1, 5'000'000);       // exactly 0.005 s: the first bucket (le is inclusive)
  m.Observe(1, 5'000'001);       // just above: the 0.01 bucket
  m.Observe(1, 2'000'000'000);   // 2 s: the 2.5 bucket
  m.Observe(1, 60'000'000'000);  // beyond 10 s: +Inf
  m.Observe(1, -5);              // a clock step backwards: 0 s, the first bucket
  SlotSnapshot s = m.Read(1);
  EXPECT_EQ(s.latency_buckets[0], 2u);
  EXPECT_EQ(s.latency_buckets[1], 1u);
  EXPECT_EQ(s.latency_buckets[8], 1u);  // 2.5
  EXPECT_EQ(s.latency_buckets[kLatencyBucketsSeconds.size()], 1u);
  EXPECT_EQ(s.latency_sum_nanos, 5'000'000u + 5'000'001u + 2'000'000'000u + 60'000'000'000u);
}

TEST(Metrics, CircuitOpenUntilKeepsTheLatestTime) {
  LocalMetrics local(2);
  const Metrics& m = local.metrics();
  m.CircuitOpenUntil(1, 1000);
  m.CircuitOpenUntil(1, 900);  // another child opened earlier: the later time stands
  EXPECT_EQ(m.Read(1).circuit_open_until, 1000);
  m.CircuitOpenUntil(1, 1030);
  EXPECT_EQ(m.Read(1).circuit_open_until, 1030);
}

TEST(Metrics, EveryMetricHasAFamilyNameAndHelp) {
  for (size_t i = 0; i < kMetricCount; ++i) {
    const MetricInfo& info = InfoOf(static_cast<Metric>(i));
    EXPECT_EQ(info.family.rfind("coinpay_auth_", 0), 0u) << i;
    EXPECT_FALSE(info.help.empty()) << info.family;
    EXPECT_EQ(info.label.empty(), info.value.empty()) << info.family;
  }
}

class SharedCountersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    size_ = SharedCounters::RegionSize(kSlots);
    base_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(base_, MAP_FAILED);
  }
  void TearDown() override { munmap(base_, size_); }

  static constexpr size_t kSlots = 3;
  void* base_ = nullptr;
  size_t size_ = 0;
};

TEST_F(SharedCountersTest, ForkedChildrenAddToTheSameCounters) {
  uint64_t fp = SharedCounters::Fingerprint({"a", "b"});
  auto created = SharedCounters::Create(base_, size_, kSlots, fp);
  ASSERT_TRUE(created.ok()) << created.error().detail;
  constexpr int kChildren = 4;
  constexpr int kEach = 20000;
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // As an httpd child: its own view of the region the parent laid out.
      auto mine = SharedCounters::Attach(base_, size_, kSlots, fp);
      if (!mine.ok()) {
        _exit(2);
      }
      for (int i = 0; i < kEach; ++i) {
        mine->Count(1, Metric::kBearerAccepted);
        mine->Count(0, Metric::kStoreError);
        mine->Observe(2, 1'000'000);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(created->Read(1).counters[static_cast<size_t>(Metric::kBearerAccepted)],
            uint64_t{kChildren} * kEach);
  EXPECT_EQ(created->Read(0).counters[static_cast<size_t>(Metric::kStoreError)],
            uint64_t{kChildren} * kEach);
  EXPECT_EQ(created->Read(2).latency_buckets[0], uint64_t{kChildren} * kEach);
  EXPECT_EQ(created->Read(2).latency_sum_nanos, uint64_t{kChildren} * kEach * 1'000'000);
}

TEST_F(SharedCountersTest, AGracefulRestartWithTheSameSlotsKeepsCounting) {
  uint64_t fp = SharedCounters::Fingerprint({"site:443", "default"});
  auto first = SharedCounters::Create(base_, size_, kSlots, fp);
  ASSERT_TRUE(first.ok());
  first->Count(1, Metric::kSigninCompleted);
  auto again = SharedCounters::Attach(base_, size_, kSlots, fp);
  ASSERT_TRUE(again.ok());
  again->Count(1, Metric::kSigninCompleted);
  EXPECT_EQ(again->Read(1).counters[static_cast<size_t>(Metric::kSigninCompleted)], 2u);
}

TEST_F(SharedCountersTest, OtherSlotsOrAnotherLayoutAreNotAttached) {
  auto first = SharedCounters::Create(base_, size_, kSlots, SharedCounters::Fingerprint({"a"}));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(SharedCounters::Attach(base_, size_, kSlots, SharedCounters::Fingerprint({"b"})).code(),
            Errc::kConfig);
  EXPECT_EQ(SharedCounters::Attach(base_, size_, 2, SharedCounters::Fingerprint({"a"})).code(),
            Errc::kConfig);
  std::memset(base_, 0, 8);  // not a metrics region at all
  EXPECT_EQ(SharedCounters::Attach(base_, size_, kSlots, SharedCounters::Fingerprint({"a"})).code(),
            Errc::kConfig);
}

TEST_F(SharedCountersTest, FingerprintSeparatesLabelsThatConcatenateAlike) {
  EXPECT_NE(SharedCounters::Fingerprint({"ab", "c"}), SharedCounters::Fingerprint({"a", "bc"}));
}

TEST_F(SharedCountersTest, ARegionTooSmallIsRefused) {
  EXPECT_EQ(SharedCounters::Create(base_, size_ - 8, kSlots, 1).code(), Errc::kConfig);
}

}  // namespace
}  // namespace coinpay
