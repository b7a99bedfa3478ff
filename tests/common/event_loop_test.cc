#include "common/event_loop.h"

#include <thread>

#include <gtest/gtest.h>

namespace agora {
namespace {

TEST(EventLoopTest, RunsTimersInDeadlineOrder) {
  FakeClock clock;
  EventLoop loop(clock);
  std::vector<int> order;
  loop.After(absl::Seconds(2), [&] { order.push_back(2); });
  loop.After(absl::Seconds(1), [&] { order.push_back(1); });
  clock.Advance(absl::Seconds(1));
  loop.RunDueTimers();
  EXPECT_EQ(order, std::vector<int>{1});
  clock.Advance(absl::Seconds(1));
  loop.RunDueTimers();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(EventLoopTest, CancelledTimersDoNotRun) {
  FakeClock clock;
  EventLoop loop(clock);
  bool ran = false;
  auto id = loop.After(absl::Seconds(1), [&] { ran = true; });
  loop.Cancel(id);
  loop.Cancel(id);  // idempotent
  clock.Advance(absl::Seconds(2));
  loop.RunDueTimers();
  EXPECT_FALSE(ran);
}

TEST(EventLoopTest, PeriodicTimersRepeatAndCanCancelThemselves) {
  FakeClock clock;
  EventLoop loop(clock);
  int runs = 0;
  EventLoop::TimerId id = 0;
  id = loop.Every(absl::Seconds(1), [&] {
    if (++runs == 3) loop.Cancel(id);
  });
  for (int i = 0; i < 10; ++i) {
    clock.Advance(absl::Seconds(1));
    loop.RunDueTimers();
  }
  EXPECT_EQ(runs, 3);
}

TEST(EventLoopTest, ZeroDelayTimersScheduledWhileRunningWaitForTheNextTurn) {
  FakeClock clock;
  EventLoop loop(clock);
  int runs = 0;
  std::function<void()> again = [&] {
    ++runs;
    loop.After(absl::ZeroDuration(), again);
  };
  loop.After(absl::ZeroDuration(), again);
  loop.RunDueTimers();
  EXPECT_EQ(runs, 1);
  loop.RunDueTimers();
  EXPECT_EQ(runs, 2);
}

TEST(EventLoopTest, PostAndStopWorkFromAnotherThread) {
  SystemClock clock;
  EventLoop loop(clock);
  int posted = 0;
  std::thread other([&] {
    loop.Post([&] { ++posted; });
    loop.Stop();
  });
  loop.Run();
  other.join();
  EXPECT_EQ(posted, 1);
}

}  // namespace
}  // namespace agora
