// BufferedRegistry is the part of a Registry that does not depend on where it
// is stored: puts are buffered on the loop, a later put of the same key
// wins, and CommitAsync() hands the batch to a writer thread of the
// registry's own, which calls Write() (a call that may block: a disk sync,
// a ZooKeeper round trip) and posts the result to the loop. Commits are
// written in the order they were started. Without a loop, CommitAsync()
// commits inline.
//
// A store implements Read() and Write(); they never run at the same time.
// Its destructor must call StopWriter() first, so that no Write() runs on a
// half-destroyed store: every commit already started is finished, writes
// still buffered are dropped (as in a crash).
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "common/event_loop.h"
#include "master/registry.h"

namespace agora::master {

// The writes of one commit, by key.
struct RegistryWrites {
  std::map<std::string, RegistryAgent> agents;
  std::map<std::string, RegistryFramework> frameworks;
  std::map<std::string, RegistryRole> roles;
  bool empty() const { return agents.empty() && frameworks.empty() && roles.empty(); }
};

class BufferedRegistry : public Registry {
 public:
  explicit BufferedRegistry(EventLoop* loop);
  ~BufferedRegistry() override;

  absl::StatusOr<RegistryState> Recover() final;
  void PutAgent(const RegistryAgent& agent) final { buffered_.agents[agent.id] = agent; }
  void PutFramework(const RegistryFramework& fw) final { buffered_.frameworks[fw.id] = fw; }
  void PutRole(const RegistryRole& role) final { buffered_.roles[role.name] = role; }
  bool HasPendingWrites() const final { return !buffered_.empty(); }
  absl::Status Commit() final;
  void CommitAsync(std::function<void(absl::Status)> done) final;

 protected:
  // Everything written so far.
  virtual absl::StatusOr<RegistryState> Read() = 0;
  // Makes `writes` durable before it returns, or fails.
  virtual absl::Status Write(const RegistryWrites& writes) = 0;
  void StopWriter();

 private:
  struct Started {
    RegistryWrites writes;
    std::function<void(absl::Status)> done;
  };
  void WriterLoop();
  void WaitIdle();

  EventLoop* const loop_;       // null: commits inline
  RegistryWrites buffered_;     // loop thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Started> queue_;  // under mu_
  bool writing_ = false;       // under mu_
  bool stopping_ = false;      // under mu_
  std::thread writer_;
};

}  // namespace agora::master
