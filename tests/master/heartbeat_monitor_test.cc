#include "master/heartbeat_monitor.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace agora::master {
namespace {

TEST(HeartbeatMonitorTest, ExpiresOnlyAfterTheTimeout) {
  FakeClock clock;
  HeartbeatMonitor monitor(absl::Seconds(5), absl::Milliseconds(100));
  monitor.Beat("a", clock.Now());
  clock.Advance(absl::Milliseconds(4900));
  EXPECT_TRUE(monitor.Expire(clock.Now()).empty());
  clock.Advance(absl::Milliseconds(300));
  EXPECT_EQ(monitor.Expire(clock.Now()), std::vector<std::string>{"a"});
  // Reported once only.
  clock.Advance(absl::Seconds(10));
  EXPECT_TRUE(monitor.Expire(clock.Now()).empty());
  EXPECT_FALSE(monitor.Watching("a"));
}

TEST(HeartbeatMonitorTest, ABeatPushesTheDeadline) {
  FakeClock clock;
  HeartbeatMonitor monitor(absl::Seconds(5), absl::Milliseconds(100));
  monitor.Beat("a", clock.Now());
  monitor.Beat("b", clock.Now());
  for (int i = 0; i < 20; ++i) {
    clock.Advance(absl::Seconds(1));
    monitor.Beat("a", clock.Now());
    auto expired = monitor.Expire(clock.Now());
    // "b" beat once at 0s: its deadline (5s, rounded up to a tick) passes
    // between 5s and 6s.
    if (i == 5) {
      EXPECT_EQ(expired, std::vector<std::string>{"b"});
    } else {
      EXPECT_TRUE(expired.empty()) << i;
    }
  }
  EXPECT_TRUE(monitor.Watching("a"));
}

TEST(HeartbeatMonitorTest, ForgottenKeysNeverExpire) {
  FakeClock clock;
  HeartbeatMonitor monitor(absl::Seconds(1), absl::Milliseconds(10));
  monitor.Beat("a", clock.Now());
  monitor.Forget("a");
  clock.Advance(absl::Seconds(2));
  EXPECT_TRUE(monitor.Expire(clock.Now()).empty());
}

TEST(HeartbeatMonitorTest, ExpiresCorrectlyAfterALongStall) {
  FakeClock clock;
  HeartbeatMonitor monitor(absl::Seconds(1), absl::Milliseconds(100));
  monitor.Beat("old", clock.Now());
  clock.Advance(absl::Milliseconds(500));
  monitor.Beat("new", clock.Now());
  // No Expire() call for many laps of the ring.
  clock.Advance(absl::Seconds(30));
  auto expired = monitor.Expire(clock.Now());
  std::sort(expired.begin(), expired.end());
  EXPECT_EQ(expired, (std::vector<std::string>{"new", "old"}));
}

TEST(HeartbeatMonitorTest, ManyBeatsKeepMemoryBounded) {
  FakeClock clock;
  HeartbeatMonitor monitor(absl::Seconds(5), absl::Milliseconds(100));
  for (int t = 0; t < 100; ++t) {
    for (int a = 0; a < 100; ++a) monitor.Beat(std::to_string(a), clock.Now());
    clock.Advance(absl::Seconds(1));
    EXPECT_TRUE(monitor.Expire(clock.Now()).empty());
  }
  EXPECT_EQ(monitor.size(), 100u);
}

TEST(HeartbeatMonitorTest, AKeyForgottenAndBeatAgainExpiresOnce) {
  FakeClock clock;
  HeartbeatMonitor monitor(absl::Seconds(1), absl::Milliseconds(10));
  monitor.Beat("a", clock.Now());
  monitor.Forget("a");
  monitor.Beat("a", clock.Now());
  std::vector<std::string> expired;
  for (int i = 0; i < 300; ++i) {
    clock.Advance(absl::Milliseconds(10));
    for (std::string& k : monitor.Expire(clock.Now())) expired.push_back(std::move(k));
  }
  EXPECT_EQ(expired, std::vector<std::string>{"a"});
}

TEST(HeartbeatMonitorTest, BeatsForManyTimeoutsThenSilenceExpireOnTime) {
  FakeClock clock;
  HeartbeatMonitor monitor(absl::Seconds(1), absl::Milliseconds(10));
  for (int i = 0; i < 50; ++i) {
    monitor.Beat("a", clock.Now());
    clock.Advance(absl::Milliseconds(300));
    EXPECT_TRUE(monitor.Expire(clock.Now()).empty()) << i;
  }
  monitor.Beat("a", clock.Now());
  const absl::Time last = clock.Now();
  while (monitor.Expire(clock.Now()).empty()) clock.Advance(absl::Milliseconds(1));
  EXPECT_GE(clock.Now() - last, absl::Seconds(1));
  EXPECT_LE(clock.Now() - last, absl::Milliseconds(1020));
}

}  // namespace
}  // namespace agora::master
