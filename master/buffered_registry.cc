#include "master/buffered_registry.h"

#include <utility>

namespace agora::master {

BufferedRegistry::BufferedRegistry(EventLoop* loop) : loop_(loop) {
  if (loop_ != nullptr) writer_ = std::thread([this] { WriterLoop(); });
}

BufferedRegistry::~BufferedRegistry() { StopWriter(); }

void BufferedRegistry::StopWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();  // after every commit started
}

absl::StatusOr<RegistryState> BufferedRegistry::Recover() {
  WaitIdle();
  return Read();
}

absl::Status BufferedRegistry::Commit() {
  WaitIdle();  // commits land in the order they were started
  if (buffered_.empty()) return absl::OkStatus();
  absl::Status status = Write(buffered_);
  if (status.ok()) buffered_ = RegistryWrites();
  return status;
}

void BufferedRegistry::CommitAsync(std::function<void(absl::Status)> done) {
  if (loop_ == nullptr) return done(Commit());
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({std::exchange(buffered_, RegistryWrites()), std::move(done)});
  }
  cv_.notify_all();
}

// The writer thread: commits what CommitAsync started, in order, and posts
// each result to the loop. The store is only ever used by one thread at a
// time: the loop's calls wait for the writer to be idle.
void BufferedRegistry::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    Started started = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    absl::Status status = Write(started.writes);
    loop_->Post([done = std::move(started.done), status] { done(status); });
    lock.lock();
    writing_ = false;
    cv_.notify_all();
  }
}

void BufferedRegistry::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

}  // namespace agora::master
