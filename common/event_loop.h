// EventLoop is the single-threaded loop every Agora process runs: it polls
// ZeroMQ sockets and plain fds, runs timers from an injected Clock, and runs
// closures posted from other threads. Everything it calls runs on the thread
// that called Run(); callbacks are transactions and must not block.
// Only Post() and Stop() may be called from other threads.
//
// Example:
//   EventLoop loop(clock);
//   loop.Watch(socket, [&] { DrainSocket(); });
//   loop.Every(absl::Seconds(1), [&] { SendHeartbeat(); });
//   loop.Run();
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <vector>

#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace agora {

class EventLoop {
 public:
  using TimerId = uint64_t;

  explicit EventLoop(const Clock& clock);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  const Clock& clock() const { return clock_; }
  absl::Time Now() const { return clock_.Now(); }

  // The socket and fd must outlive the loop or be unwatched first.
  void Watch(zmq::socket_t& socket, std::function<void()> on_readable);
  // `on_readable` also runs when the fd hung up or failed (its read says so).
  void WatchFd(int fd, std::function<void()> on_readable);
  void Unwatch(zmq::socket_t& socket);
  void UnwatchFd(int fd);

  TimerId After(absl::Duration delay, std::function<void()> fn);
  TimerId Every(absl::Duration period, std::function<void()> fn);
  // Idempotent; cancelling a timer that ran or never existed is a no-op.
  void Cancel(TimerId id);

  // Thread-safe: runs `fn` on the loop thread soon.
  void Post(std::function<void()> fn);
  // Thread-safe: Run() returns after its current turn.
  void Stop();

  void Run();
  // One turn: waits up to `max_wait` for input or the next timer, handles
  // what is ready, runs due timers and posted closures.
  void RunOnce(absl::Duration max_wait);
  // Runs the timers due at clock().Now(), then the turn-end hook; RunOnce()
  // ends with it, and tests with a FakeClock call it directly.
  void RunDueTimers();
  // Called at the end of every turn (e.g. the master's group commit). One
  // hook; an empty function removes it.
  void SetTurnEndHook(std::function<void()> hook) { turn_end_hook_ = std::move(hook); }
  size_t pending_timers() const { return timers_.size(); }

 private:
  struct Timer {
    std::function<void()> fn;
    absl::Duration period;  // zero for one-shot
  };
  struct HeapEntry {
    absl::Time deadline;
    TimerId id;
    bool operator>(const HeapEntry& o) const {
      return deadline != o.deadline ? deadline > o.deadline : id > o.id;
    }
  };
  struct Watched {
    void* socket = nullptr;  // zmq socket handle, or null for an fd
    int fd = -1;
    std::function<void()> on_readable;
    uint64_t id = 0;  // this watch's own: a handle or fd may be watched anew (reused)
  };

  TimerId Schedule(absl::Time deadline, absl::Duration period, std::function<void()> fn);
  void RunPosted();
  void DrainWakeFd();

  const Clock& clock_;
  std::vector<Watched> watched_;
  uint64_t next_watch_id_ = 0;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap_;
  absl::flat_hash_map<TimerId, Timer> timers_;
  TimerId next_timer_id_ = 1;
  int wake_fd_ = -1;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
  bool stop_ = false;  // loop thread only (Stop() posts)
  std::function<void()> turn_end_hook_;
};

}  // namespace agora
