#include "common/event_loop.h"

#include <unistd.h>

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

namespace agora {
namespace {

// A posted callback (a ZooKeeper event pausing the master's router) may
// unwatch what the same turn found readable: that handler no longer runs,
// and the others still run, each its own.
TEST(EventLoopTest, AHandlerUnwatchedByAPostedCallbackDoesNotRunAndTheOthersRunTheirOwn) {
  SystemClock clock;
  EventLoop loop(clock);
  int a[2], b[2];
  ASSERT_EQ(::pipe(a), 0);
  ASSERT_EQ(::pipe(b), 0);
  int ran_a = 0, ran_b = 0;
  loop.WatchFd(a[0], [&] { ++ran_a; });
  loop.WatchFd(b[0], [&] { ++ran_b; });
  ASSERT_EQ(::write(a[1], "x", 1), 1);
  ASSERT_EQ(::write(b[1], "x", 1), 1);
  loop.Post([&] { loop.UnwatchFd(a[0]); });
  loop.RunOnce(absl::Seconds(1));
  EXPECT_EQ(ran_a, 0);
  EXPECT_EQ(ran_b, 1);
  for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
}

}  // namespace
}  // namespace agora
