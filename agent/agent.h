// Agent runs on every machine: it registers with the master and heartbeats,
// starts one agora-executor per framework (on that framework's first task
// here) and hands it tasks to fork, and turns what executors report into
// status updates that it resends to the master, with backoff, until the
// framework acknowledges them. It re-registers with its tasks whenever the
// master asks (after a master restart or a partition).
//
// It checkpoints its executors and tasks (with unacknowledged updates) under
// WORK_DIR/meta. Restarted after a crash it re-adopts the executors still
// alive (they re-register by themselves), takes the final status of tasks
// whose executor died meanwhile from their sandboxes, and re-registers with
// the master carrying every task: the tasks never notice.
//
// Single-threaded: everything runs on the agent's event loop. Failures of
// peers are normal: a dead executor fails its tasks with its exit status; a
// silent master is retried forever.
#pragma once

#include "common/http_endpoint.h"

#include <sys/types.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "common/curve.h"
#include "common/event_loop.h"
#include "common/histogram.h"
#include "agora/resources.h"
#include "common/leader_detector.h"
#include "common/sockets.h"
#include "agent/checkpoint.h"
#include "agent/process_launcher.h"
#include "agent/sandbox_gc.h"
#include "agent/task_user.h"
#include "agent/uid_pool.h"
#include "agora/task.h"

namespace agora::agent {

struct AgentOptions {
  std::string master;  // tcp://HOST:PORT, or zk://... to follow the elected leader
  std::string work_dir;
  std::string hostname;
  Resources resources;
  Env attributes;
  std::string executor_path;
  int cgroup_version = 0;  // 0: limits not enforced
  absl::Duration kill_grace_period = absl::Seconds(3);
  absl::Duration executor_idle_timeout = absl::Seconds(60);
  absl::Duration max_update_backoff = absl::Minutes(1);
  // Executors kill their tasks and exit when the agent process is gone this
  // long (an agent restarted within it finds them alive).
  absl::Duration recovery_timeout = absl::Minutes(15);
  // How often executors report their tasks' cpu and memory use.
  absl::Duration usage_interval = absl::Seconds(5);
  // Announced to the master so the CLI can read sandboxes through it.
  std::string http_endpoint;
  std::string http_cert_sha256;  // secured: of its HTTPS certificate, announced at registration
  // The IP address its tasks' ports are reached at, announced with offers.
  std::string advertise_ip;
  // CurveZMQ keys for a secured master (none: plain).
  std::optional<CurveClient> curve;
  // Who tasks run as (--task_user, --allow_root_tasks).
  TaskUserPolicy task_users;
  // Finished sandboxes are removed after this, sooner as the disk fills
  // (agent/sandbox_gc.h).
  absl::Duration gc_delay = absl::Hours(24 * 7);
  double gc_disk_headroom = 0.1;
  // Each task in its own pid, mount, ipc and uts namespaces under agora-init
  // (agent/isolation.h, executor/spawn.h).
  bool isolate = false;
  // The pids limit of a task that names none, and the most a task may name;
  // applied where the pids controller exists.
  bool pids_limits = false;
  uint32_t task_pids_max = 4096;
  uint32_t task_pids_max_allowed = 65536;
  // The disk limit of a task that asks for no disk (MiB); a task's sandbox is
  // measured and the task killed past its disk resource, or this.
  uint64_t task_disk_default_mib = 1024;
  // Each task's stdout and stderr rotate at this size (MiB), keeping this
  // many files each (agent/executor/task_log.h).
  uint64_t task_log_max_mib = 10;
  int task_log_max_files = 5;
  // Where per-framework uids come from (task_users.per_framework_uids), and
  // the machine-wide file that records them (agent/uid_pool.h).
  UidRange task_uids;
  std::string task_uid_file = "/var/lib/agora/task-uids";
};

struct AgentStats {
  uint64_t tasks_launched = 0;
  uint64_t updates_sent = 0;
  uint64_t usage_reports = 0;  // relayed to the master
  uint64_t updates_resent = 0;
  uint64_t executors_started = 0;
  uint64_t executors_lost = 0;
  uint64_t orphans_killed = 0;  // task processes found after their executor died
  uint64_t gc_passes = 0;
  uint64_t bad_messages = 0;
};

class Agent {
 public:
  // `launcher` null: executors are forked and exec'd.
  Agent(AgentOptions options, EventLoop& loop, zmq::context_t& context,
        std::unique_ptr<ProcessLauncher> launcher = nullptr);
  ~Agent();

  // Binds the executor socket and starts registering with the master.
  absl::Status Start();
  // Reaps exited children (executors); called on SIGCHLD.
  void ReapChildren();
  // Asks every executor to kill its tasks and exit (--kill_tasks_on_exit);
  // by default executors outlive the agent process.
  void ShutdownExecutors();
  // Live executor processes (children of this agent).
  size_t executor_count() const { return executors_.size(); }

  const std::string& agent_id() const { return agent_id_; }
  bool registered() const { return registered_; }
  const AgentStats& stats() const { return stats_; }
  // agent_http.cc: the HTTP /state body, and /metrics in the Prometheus text
  // format.
  std::string StateJson() const;
  // Why its last checkpoint write failed (it launches nothing meanwhile);
  // empty when it is fine. In /health, /state, /metrics and its heartbeats.
  std::string CheckpointProblem() const;
  std::string MetricsText() const;
  // GET /v1/files?framework=F&task=T&file=stdout|stderr&offset=N&length=M:
  // a slice of a task's sandbox file, live or finished, as
  // {"data", "offset", "size"} (offset -1: the last `length` bytes). The file
  // is opened and read off the loop, beneath the work dir, through no
  // symlink, and only when it is a regular file (agent/sandbox_files.h).
  HttpReply ServeFiles(const HttpRequest& request) const;

  // A message from the master, or from an executor (`peer` is its routing
  // id). The sockets call these; public for fuzzers.
  void HandleMaster(wire::Envelope::Reader env);
  void HandleExecutor(const PeerId& peer, wire::Envelope::Reader env);

 private:
  // What is checkpointed, plus the resend timer of the head update.
  struct Task : TaskCheckpoint {
    EventLoop::TimerId retry_timer = 0;
    absl::Duration backoff = absl::Seconds(1);
    absl::Time head_sent_at = absl::InfinitePast();  // the head update's first send
  };
  struct Executor {
    std::string id;
    std::string framework_id;
    pid_t pid = -1;
    PeerId peer;
    bool registered = false;
    bool shutting_down = false;
    bool adopted = false;  // from a previous agent run: not our child
    std::vector<std::string> queued;          // task ids waiting for registration
    absl::flat_hash_set<std::string> pending_kills;  // for a re-adopted executor
    absl::flat_hash_set<std::string> active;  // non-terminal task ids
    EventLoop::TimerId idle_timer = 0;
  };
  using TaskKey = std::pair<std::string, std::string>;  // framework, task

  void Register();
  // Hands the sandbox collector what must stay: live tasks' sandboxes and
  // live executors' directories.
  void CollectGarbage();
  void OnRegistered(wire::AgentRegistered::Reader msg);
  void SendHeartbeat();
  void OnRunTask(wire::RunTask::Reader msg);
  void OnKillTask(wire::KillTask::Reader msg);
  void OnAcknowledge(wire::Acknowledge::Reader msg);
  void OnAgentGone(absl::string_view message);
  void OnRegisterExecutor(const PeerId& peer, uint64_t request_id,
                          wire::RegisterExecutor::Reader msg);
  void OnExecutorStatus(const PeerId& peer, wire::ExecutorStatus::Reader msg);

  Executor* ExecutorFor(const std::string& framework_id);
  absl::Status StartExecutor(Executor& executor);
  void SendLaunch(Executor& executor, Task& task);
  void SendKill(Executor& executor, const Task& task);
  void ExecutorExited(const std::string& executor_id, const std::string& how);
  // Removes the cgroups a dead executor left, trying every 20 ms while
  // processes are still in them (at most `attempts` times).
  void RemoveExecutorCgroups(const std::string& executor_id, int attempts);
  void Recover();
  void CheckAdoptedExecutors();
  absl::Status CheckpointTask(const TaskKey& key);
  void EraseTask(const TaskKey& key);
  void MaybeArmIdleTimer(Executor& executor);
  // Records a state change and queues its update for the master.
  void Report(const TaskKey& key, TaskState state, std::string message, std::string reason,
              int exit_code = 0, std::optional<bool> healthy = std::nullopt);
  void SendHead(const TaskKey& key);
  void SendErrorToMaster(absl::string_view message);
  // Relays an executor's usage of its known tasks to the master.
  void OnExecutorUsage(const PeerId& peer, wire::UsageReport::Reader msg);
  // The user a task of `framework_id` asking for `requested` runs as: the
  // framework's own uid (assigned on first use), or the policy's answer.
  absl::StatusOr<TaskUser> UserFor(const std::string& framework_id, const std::string& requested);
  // Creates the sandbox (mode 0700) with `stdout`, `stderr`, `tmp` (isolated
  // tasks) and the task's files while only root can write there, then hands
  // it to `user`: nothing can be planted in it before it is the task's.
  absl::Status PrepareSandbox(const Task& task, const TaskUser& user);
  // AGORA_*, ports, USER/LOGNAME/HOME (of `user`, when known) and the spec's own.
  Env TaskEnvironment(const std::string& framework_id, const std::string& framework_name,
                      const TaskSpec& spec, const std::string& sandbox,
                      const TaskUser* user) const;
  std::string ExecutorEndpoint() const;
  std::string ExecutorDir(const std::string& framework_id, const std::string& executor_id) const;

  AgentOptions options_;
  EventLoop& loop_;
  zmq::context_t& context_;
  std::unique_ptr<ProcessLauncher> launcher_;
  std::unique_ptr<SandboxGc> gc_;
  EventLoop::TimerId gc_timer_ = 0;
  std::unique_ptr<DealerSocket> master_;
  std::unique_ptr<LeaderFollower> master_follower_;  // with a zk:// master
  std::unique_ptr<RouterSocket> executors_socket_;
  std::string agent_id_;
  bool registered_ = false;
  absl::Duration heartbeat_interval_ = absl::Seconds(1);
  EventLoop::TimerId heartbeat_timer_ = 0;
  EventLoop::TimerId register_timer_ = 0;
  absl::Duration register_backoff_ = absl::Seconds(1);
  absl::flat_hash_map<TaskKey, Task> tasks_;
  absl::flat_hash_map<std::string, Executor> executors_;            // by executor id
  absl::flat_hash_map<std::string, std::string> executor_by_framework_;
  absl::flat_hash_map<PeerId, std::string> executor_by_peer_;
  absl::flat_hash_map<pid_t, std::string> executor_by_pid_;  // children only
  std::unique_ptr<Checkpointer> checkpointer_;
  std::unique_ptr<UidPool> uids_;  // when uids are per framework
  const std::string instance_;  // new on every start; executors notice restarts
  EventLoop::TimerId adopted_check_timer_ = 0;
  AgentStats stats_;
  Histogram update_round_trip_;  // a status update's first send → its acknowledgement
};

}  // namespace agora::agent
