// Executor runs one framework's tasks on one agent (Mesos' executor model):
// it forks each task as `/bin/sh -c COMMAND` in its own process group and
// sandbox (and cgroup, when the agent enforces limits), kills with SIGTERM
// then SIGKILL after the grace period, and reports each task's state and exit
// status to its agent over the agent's ipc:// socket.
//
// It survives its agent. It registers, and then heartbeats, every second;
// whenever it meets a new agent instance (the agent restarted) it sends the
// latest status of every task again, and it forgets a task's final status
// only once an agent has provably received it. It records each task's final
// status in its executor directory too. When no agent has answered for
// --recovery_timeout it kills its tasks and exits, so no task outlives a dead
// agent for long. Its routing id is its executor id. Single-threaded.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "agent/cgroups.h"
#include "agent/executor/prober.h"
#include "agent/executor/spawn.h"
#include "agent/executor/task_log.h"
#include "agent/executor/usage.h"
#include "common/event_loop.h"
#include "common/worker_thread.h"
#include "common/sockets.h"
#include "agora/task.h"

namespace agora::agent {

struct ExecutorOptions {
  std::string agent_endpoint;
  std::string framework_id;
  std::string executor_id;
  std::string executor_dir;  // where it records its tasks' exits
  absl::Duration recovery_timeout = absl::Minutes(15);
  // How often it reports its tasks' resource use to the agent; 0: never.
  absl::Duration usage_interval = absl::Seconds(5);
  // agora-init, pid 1 of each isolated task (agent/init/agora_init.c).
  std::string init_path;
  // How often sandboxes are measured against their disk limits.
  absl::Duration disk_check_interval = absl::Seconds(5);
  TaskLogLimits log_limits;
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
  // A task's health check: its schedule, its counts, its last verdict.
  struct Health {
    HealthCheck check;
    std::vector<std::string> env;  // the task's, for command checks
    absl::Time started;
    int failures = 0;  // consecutive
    bool succeeded_once = false;
    std::optional<bool> healthy;  // the last verdict reported
    EventLoop::TimerId timer = 0;  // the next check, or the running one's timeout
    pid_t check_pid = -1;          // a command check running
    uint64_t seq = 0;              // a probe's answer for an older check is dropped
  };

  struct Task {
    std::string id;
    std::string run_id;
    std::string sandbox;
    std::optional<RunAs> user;  // none: the executor's own (also for its command checks)
    bool isolated = false;      // in its own namespaces: `pid` is its agora-init
    pid_t pid = -1;
    TaskCgroup cgroup;
    bool kill_requested = false;
    uint64_t disk_limit_bytes = 0;  // 0: none
    uint64_t disk_used_bytes = 0;   // when it went over
    absl::Duration grace;
    EventLoop::TimerId kill_timer = 0;
    std::unique_ptr<Health> health;  // null: no check
    CpuRate cpu_rate;
    // Its stdout and stderr: the read ends of its pipes, and their files.
    struct Stream {
      UniqueFd pipe;
      std::unique_ptr<TaskLog> log;
    };
    Stream out, err;
  };

  // The latest status of a task, until an agent has provably received it.
  struct Reported {
    TaskState state;
    std::string message, reason;
    int exit_code = 0;
    std::optional<bool> healthy;
    uint64_t seq = 0;        // heartbeats sent before it
    std::string instance;    // the agent instance it was sent to
    std::string run_id;      // of the run it ended (a task id may run again)
  };

  void HandleAgent(wire::Envelope::Reader env);
  void Heartbeat();
  void OnRegistered(uint64_t seq, const std::string& instance);
  void SendStatus(const std::string& task_id, Reported& reported);
  void OnLaunch(wire::LaunchTask::Reader msg);
  void Kill(Task& task, absl::Duration grace);
  void Report(const std::string& task_id, TaskState state, const std::string& message,
              const std::string& reason, int exit_code = 0,
              std::optional<bool> healthy = std::nullopt);
  // Health checks (executor_health.cc).
  void ScheduleHealthCheck(Task& task, absl::Duration delay);
  void RunHealthCheck(const std::string& task_id);
  void OnHealthResult(const std::string& task_id, uint64_t seq, bool ok, const std::string& detail);
  void StopHealthCheck(Task& task);
  void TaskExited(Task& task, int wait_status);
  // Sets up `task`'s stdout and stderr: the files in its sandbox and the
  // pipes; the write ends go to `spawn` (closed by the caller after Spawn).
  absl::Status OpenTaskOutput(Task& task, SpawnSpec& spawn, UniqueFd& out_writer, UniqueFd& err_writer);
  void OnTaskOutput(const std::string& task_id, bool err);
  // Moves what is left in the task's pipes into its logs and closes them.
  void CloseTaskOutput(Task& task);
  void MaybeFinishShutdown();
  // Measures every running task (cgroup accounting, else /proc) and reports
  // the ones measured before, so each carries a rate.
  void ReportUsage();
  // Measures the sandboxes of tasks with a disk limit off the loop; a task
  // over its limit is killed and fails with reason disk_limit.
  void CheckDisk();
  void OnDiskMeasured(const std::vector<std::pair<std::string, uint64_t>>& bytes_by_task);

  ExecutorOptions options_;
  EventLoop& loop_;
  std::unique_ptr<DealerSocket> agent_;
  absl::flat_hash_map<std::string, Task> tasks_;
  absl::flat_hash_map<pid_t, std::string> task_by_pid_;
  absl::flat_hash_map<pid_t, std::string> health_check_by_pid_;
  bool shutting_down_ = false;
  std::unique_ptr<CgroupPool> cgroups_ = std::make_unique<CgroupPool>(options_.executor_id);
  std::unique_ptr<Prober> prober_;  // started with the first http/tcp check
  absl::flat_hash_map<std::string, Reported> reported_;
  uint64_t seq_ = 0;
  std::string launching_run_;  // the run OnLaunch is starting
  std::string agent_instance_;
  absl::Time last_contact_;
  EventLoop::TimerId heartbeat_timer_ = 0;
  EventLoop::TimerId usage_timer_ = 0;
  EventLoop::TimerId disk_timer_ = 0;
  bool disk_check_running_ = false;
  // Expires with the executor: a walk that ends after it posts nothing that runs.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::unique_ptr<WorkerThread> disk_meter_ = std::make_unique<WorkerThread>();
};

}  // namespace agora::agent
