// The provider circuit breaker on a fake clock: closed, open after 5 consecutive failures,
// one probe after the cool-down, closed again on its success or open again on its failure.
#include "core/circuit_breaker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "fakes.h"

namespace coinpay {
namespace {

using State = CircuitBreaker::State;
using testing::CollectingLogSink;
using testing::FakeClock;

constexpr char kProvider[] = "https://op.example";

class CircuitBreakerTest : public ::testing::Test {
 protected:
  void FailTimes(int n) {
    for (int i = 0; i < n; ++i) {
      auto permit = breaker_.Acquire();
      ASSERT_TRUE(permit.ok()) << "call " << i << " refused";
      permit->Failed("connection refused");
    }
  }
  int LinesTagged(int tag) const {
    int n = 0;
    for (const auto& line : log_.lines()) {
      n += std::get<1>(line) == tag ? 1 : 0;
    }
    return n;
  }

  FakeClock clock_;
  CollectingLogSink log_;
  CircuitBreaker breaker_{clock_, log_, kProvider};
};

TEST_F(CircuitBreakerTest, StaysClosedWhileFailuresAreNotConsecutive) {
  FailTimes(4);
  auto ok = breaker_.Acquire();
  ASSERT_TRUE(ok.ok());
  ok->Succeeded();  // an answer resets the count
  FailTimes(4);
  EXPECT_EQ(breaker_.state(), State::kClosed);
  EXPECT_EQ(breaker_.RetryAfterSeconds(), 0);
  auto next = breaker_.Acquire();
  ASSERT_TRUE(next.ok());
  next->Succeeded();
  EXPECT_EQ(LinesTagged(190), 0);
}

TEST_F(CircuitBreakerTest, OpensAfterFiveConsecutiveFailuresAndRefusesAtOnce) {
  FailTimes(5);
  EXPECT_EQ(breaker_.state(), State::kOpen);
  auto refused = breaker_.Acquire();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), Errc::kCircuitOpen);
  EXPECT_NE(refused.error().detail.find(kProvider), std::string::npos);
  EXPECT_EQ(breaker_.RetryAfterSeconds(), 30);
  clock_.Advance(12);
  EXPECT_EQ(breaker_.RetryAfterSeconds(), 18);
  EXPECT_FALSE(breaker_.Acquire().ok());
  // One warning when it opens, naming the provider and the last failure.
  ASSERT_EQ(LinesTagged(190), 1);
  for (const auto& [level, tag, message] : log_.lines()) {
    if (tag == 190) {
      EXPECT_EQ(level, LogLevel::kWarn);
      EXPECT_NE(message.find(kProvider), std::string::npos) << message;
      EXPECT_NE(message.find("connection refused"), std::string::npos) << message;
    }
  }
}

TEST_F(CircuitBreakerTest, AfterTheCoolDownExactlyOneProbeGoes) {
  FailTimes(5);
  clock_.Advance(29);
  EXPECT_FALSE(breaker_.Acquire().ok());
  clock_.Advance(1);
  EXPECT_EQ(breaker_.RetryAfterSeconds(), 0);
  auto probe = breaker_.Acquire();
  ASSERT_TRUE(probe.ok());
  EXPECT_TRUE(probe->probe());
  EXPECT_EQ(breaker_.state(), State::kHalfOpen);
  EXPECT_EQ(breaker_.Acquire().code(), Errc::kCircuitOpen);
  EXPECT_EQ(breaker_.RetryAfterSeconds(), 1);
}

TEST_F(CircuitBreakerTest, ASuccessfulProbeClosesIt) {
  FailTimes(5);
  clock_.Advance(30);
  auto probe = breaker_.Acquire();
  ASSERT_TRUE(probe.ok());
  probe->Succeeded();
  EXPECT_EQ(breaker_.state(), State::kClosed);
  EXPECT_EQ(breaker_.RetryAfterSeconds(), 0);
  auto next = breaker_.Acquire();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->probe());
  EXPECT_EQ(LinesTagged(191), 1);
  // Closed from scratch: it takes five new failures to open it again.
  next->Failed("timeout");
  FailTimes(3);
  EXPECT_EQ(breaker_.state(), State::kClosed);
}

TEST_F(CircuitBreakerTest, AFailedProbeOpensItForAnotherCoolDown) {
  FailTimes(5);
  clock_.Advance(45);
  auto probe = breaker_.Acquire();
  ASSERT_TRUE(probe.ok());
  probe->Failed("timeout");
  EXPECT_EQ(breaker_.state(), State::kOpen);
  EXPECT_EQ(breaker_.RetryAfterSeconds(), 30);
  EXPECT_FALSE(breaker_.Acquire().ok());
  clock_.Advance(30);
  EXPECT_TRUE(breaker_.Acquire().ok());
  EXPECT_EQ(LinesTagged(190), 1) << "one warning per outage, not one per probe";
  EXPECT_EQ(LinesTagged(191), 0);
}

TEST_F(CircuitBreakerTest, AProbeDroppedWithoutAVerdictCountsAsFailed) {
  FailTimes(5);
  clock_.Advance(30);
  {
    auto probe = breaker_.Acquire();
    ASSERT_TRUE(probe.ok());
  }
  EXPECT_EQ(breaker_.state(), State::kOpen);
  EXPECT_EQ(breaker_.RetryAfterSeconds(), 30);
}

TEST_F(CircuitBreakerTest, AVerdictIsGivenOnceEvenAfterAMove) {
  auto permit = breaker_.Acquire();
  ASSERT_TRUE(permit.ok());
  CircuitBreaker::Permit moved(std::move(*permit));
  moved.Succeeded();
  moved.Failed("late");  // ignored: the verdict was given
  FailTimes(4);
  EXPECT_EQ(breaker_.state(), State::kClosed);
}

TEST_F(CircuitBreakerTest, CallsStartedBeforeItOpenedDoNotDecideIt) {
  auto slow = breaker_.Acquire();  // let through while closed, answers late
  ASSERT_TRUE(slow.ok());
  FailTimes(5);
  ASSERT_EQ(breaker_.state(), State::kOpen);
  slow->Succeeded();
  EXPECT_EQ(breaker_.state(), State::kOpen) << "only a probe closes an open breaker";
  EXPECT_EQ(breaker_.RetryAfterSeconds(), 30);
}

TEST_F(CircuitBreakerTest, OptionsSetThresholdAndCoolDown) {
  CircuitBreaker quick(clock_, log_, kProvider, {.failure_threshold = 2, .cool_down_seconds = 5});
  for (int i = 0; i < 2; ++i) {
    auto p = quick.Acquire();
    ASSERT_TRUE(p.ok());
    p->Failed("HTTP 503");
  }
  EXPECT_EQ(quick.state(), State::kOpen);
  EXPECT_EQ(quick.RetryAfterSeconds(), 5);
  clock_.Advance(5);
  EXPECT_TRUE(quick.Acquire().ok());
}

TEST_F(CircuitBreakerTest, ConcurrentCallersInHalfOpenGetOneProbeBetweenThem) {
  FailTimes(5);
  clock_.Advance(30);
  constexpr int kThreads = 16;
  std::atomic<int> probes{0};
  std::atomic<int> refused{0};
  std::vector<CircuitBreaker::Permit> held;
  std::mutex held_mu;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto p = breaker_.Acquire();
      if (!p.ok()) {
        ++refused;
        return;
      }
      ++probes;
      std::lock_guard<std::mutex> lock(held_mu);
      held.push_back(std::move(*p));  // still out while the others ask
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(probes.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  ASSERT_EQ(held.size(), 1u);
  held.front().Succeeded();
  EXPECT_EQ(breaker_.state(), State::kClosed);
}

}  // namespace
}  // namespace coinpay
