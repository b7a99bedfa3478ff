// Executor runs one framework's tasks on one agent (Mesos' executor model):
// it forks each task as `/bin/sh -c COMMAND` in its own process group and
// sandbox (and cgroup, when the agent enforces limits), kills with SIGTERM
// then SIGKILL after the grace period, and reports each task's state and exit
// status to its agent over the agent's ipc:// socket.
//
// It survives its agent: reports queue until the agent is back. When the
// agent process has been gone for --recovery_timeout it kills its tasks and
// exits, so no task outlives a dead agent for long. Single-threaded.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "agent/cgroups.h"
#include "common/event_loop.h"
#include "common/sockets.h"
#include "common/task.h"

namespace agora::agent {

struct ExecutorOptions {
  std::string agent_endpoint;
  std::string framework_id;
  std::string executor_id;
  pid_t agent_pid = 0;
  absl::Duration recovery_timeout = absl::Minutes(15);
};

class Executor {
 public:
  Executor(ExecutorOptions options, EventLoop& loop, zmq::context_t& context);
  ~Executor();

  void Start();
  // Reaps exited tasks; called on SIGCHLD.
  void ReapChildren();
  // Kills every task (with its grace period) and stops the loop once none is
  // left.
  void Shutdown(absl::string_view why);

 private:
  struct Task {
    std::string id;
    pid_t pid = -1;
    TaskCgroup cgroup;
    bool kill_requested = false;
    absl::Duration grace;
    EventLoop::TimerId kill_timer = 0;
  };

  void HandleAgent(wire::Envelope::Reader env);
  void OnLaunch(wire::LaunchTask::Reader msg);
  void Kill(Task& task, absl::Duration grace);
  void Report(const std::string& task_id, TaskState state, const std::string& message,
              const std::string& reason, int exit_code = 0);
  void TaskExited(Task& task, int wait_status);
  void CheckAgent();
  void MaybeFinishShutdown();

  ExecutorOptions options_;
  EventLoop& loop_;
  std::unique_ptr<DealerSocket> agent_;
  absl::flat_hash_map<std::string, Task> tasks_;
  absl::flat_hash_map<pid_t, std::string> task_by_pid_;
  bool shutting_down_ = false;
  int cgroup_version_ = 0;  // of the last task placed in a cgroup
  absl::Time agent_gone_since_ = absl::InfiniteFuture();
  EventLoop::TimerId agent_check_timer_ = 0;
};

}  // namespace agora::agent
