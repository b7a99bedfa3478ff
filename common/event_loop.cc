#include "common/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/log.h"

namespace agora {

EventLoop::EventLoop(const Clock& clock) : clock_(clock) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    AGORA_LOG(ERROR, "loop") << "eventfd failed: " << errno;
    std::abort();
  }
}

EventLoop::~EventLoop() { ::close(wake_fd_); }

void EventLoop::Watch(zmq::socket_t& socket, std::function<void()> on_readable) {
  watched_.push_back({socket.handle(), -1, std::move(on_readable), ++next_watch_id_});
}

void EventLoop::WatchFd(int fd, std::function<void()> on_readable) {
  watched_.push_back({nullptr, fd, std::move(on_readable), ++next_watch_id_});
}

void EventLoop::Unwatch(zmq::socket_t& socket) {
  void* handle = socket.handle();
  std::erase_if(watched_, [&](const Watched& w) { return w.socket == handle; });
}

void EventLoop::UnwatchFd(int fd) {
  std::erase_if(watched_, [&](const Watched& w) { return w.socket == nullptr && w.fd == fd; });
}

EventLoop::TimerId EventLoop::Schedule(absl::Time deadline, absl::Duration period,
                                       std::function<void()> fn) {
  TimerId id = next_timer_id_++;
  timers_.emplace(id, Timer{std::move(fn), period});
  heap_.push({deadline, id});
  return id;
}

EventLoop::TimerId EventLoop::After(absl::Duration delay, std::function<void()> fn) {
  return Schedule(Now() + delay, absl::ZeroDuration(), std::move(fn));
}

EventLoop::TimerId EventLoop::Every(absl::Duration period, std::function<void()> fn) {
  if (period <= absl::ZeroDuration()) period = absl::Milliseconds(1);
  return Schedule(Now() + period, period, std::move(fn));
}

void EventLoop::Cancel(TimerId id) { timers_.erase(id); }

void EventLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void EventLoop::Stop() {
  Post([this] { stop_ = true; });
}

void EventLoop::DrainWakeFd() {
  uint64_t value;
  while (::read(wake_fd_, &value, sizeof(value)) > 0) {
  }
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

void EventLoop::RunDueTimers() {
  const absl::Time now = Now();
  // Timers scheduled while running (even already due) wait for the next call,
  // so a zero-delay timer cannot starve the sockets.
  std::vector<HeapEntry> due;
  while (!heap_.empty() && heap_.top().deadline <= now) {
    due.push_back(heap_.top());
    heap_.pop();
  }
  for (const HeapEntry& entry : due) {
    auto it = timers_.find(entry.id);
    if (it == timers_.end()) continue;  // cancelled
    if (it->second.period > absl::ZeroDuration()) {
      absl::Time next = entry.deadline + it->second.period;
      if (next <= now) next = now + it->second.period;  // fell behind: skip beats
      heap_.push({next, entry.id});
      auto fn = it->second.fn;  // the callback may cancel its own timer
      fn();
    } else {
      auto fn = std::move(it->second.fn);
      timers_.erase(it);
      fn();
    }
  }
  if (turn_end_hook_) turn_end_hook_();
}

void EventLoop::RunOnce(absl::Duration max_wait) {
  // Drop cancelled timers from the top so they do not shorten the wait.
  while (!heap_.empty() && !timers_.contains(heap_.top().id)) heap_.pop();
  absl::Duration wait = max_wait;
  if (!heap_.empty()) wait = std::min(wait, heap_.top().deadline - Now());
  if (wait < absl::ZeroDuration()) wait = absl::ZeroDuration();

  std::vector<zmq::pollitem_t> items;
  std::vector<uint64_t> polled;  // the watch each item (after the wake fd) stands for
  items.reserve(watched_.size() + 1);
  items.push_back({nullptr, wake_fd_, ZMQ_POLLIN, 0});
  for (const Watched& w : watched_) {
    items.push_back({w.socket, w.fd, ZMQ_POLLIN, 0});
    polled.push_back(w.id);
  }
  // Round up so that a timer 0.4 ms away does not spin.
  auto ms = std::chrono::milliseconds(absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
  try {
    zmq::poll(items.data(), items.size(), ms);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) AGORA_LOG(WARNING, "loop") << "poll: " << e.what();
    return;
  }
  if (items[0].revents & ZMQ_POLLIN) {
    DrainWakeFd();
    RunPosted();
  }
  // The posted callbacks above may have (un)watched: each ready item's watch
  // is looked up by its id and skipped if it is gone. The handlers run from
  // a snapshot (one that an earlier handler of this turn unwatched still
  // runs: handlers only read without blocking).
  std::vector<std::function<void()>> ready;
  for (size_t i = 1; i < items.size(); ++i) {
    auto w = std::find_if(watched_.begin(), watched_.end(), [&](const Watched& w) { return w.id == polled[i - 1]; });
    if (w == watched_.end()) continue;
    // A hung-up or failed fd is "readable" too: its read says so (else the
    // poll would return at once, for ever).
    const short events = w->socket == nullptr ? (ZMQ_POLLIN | ZMQ_POLLERR) : ZMQ_POLLIN;
    if (items[i].revents & events) ready.push_back(w->on_readable);
  }
  for (auto& fn : ready) fn();
  RunDueTimers();
}

void EventLoop::Run() {
  stop_ = false;
  while (!stop_) RunOnce(absl::Seconds(1));
}

}  // namespace agora
