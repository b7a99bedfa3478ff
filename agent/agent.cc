#include "agent/agent.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <capnp/message.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/cgroups.h"
#include "agent/orphans.h"
#include "agent/sandbox_files.h"
#include "common/framing.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/status.h"
#include "common/wire_convert.h"
#include "common/proc_file.h"
#include "common/unique_fd.h"

namespace agora::agent {
namespace fs = std::filesystem;

namespace {

// True when `pid` is still the executor `executor_id` (not a reused pid).
bool ExecutorAlive(pid_t pid, const std::string& executor_id) {
  if (pid <= 0) return false;
  const std::string cmdline = ReadProcFile(absl::StrCat("/proc/", pid, "/cmdline"));
  return cmdline.find(executor_id) != std::string::npos;
}

std::string ReadFileOrEmpty(const fs::path& path) {
  std::ifstream in(path);
  std::string s;
  in >> s;
  return s;
}

}  // namespace

Agent::Agent(AgentOptions options, EventLoop& loop, zmq::context_t& context,
             std::unique_ptr<ProcessLauncher> launcher)
    : options_(std::move(options)),
      loop_(loop),
      context_(context),
      launcher_(launcher != nullptr ? std::move(launcher) : NewForkExecLauncher()),
      instance_(NewId("i")) {}

Agent::~Agent() {
  for (auto& [key, task] : tasks_) loop_.Cancel(task.retry_timer);
  loop_.Cancel(heartbeat_timer_);
  loop_.Cancel(register_timer_);
  loop_.Cancel(adopted_check_timer_);
  loop_.Cancel(gc_timer_);
}

std::string Agent::ExecutorEndpoint() const {
  return absl::StrCat("ipc://", (fs::absolute(options_.work_dir) / "executors.sock").string());
}

absl::Status Agent::Start() {
  std::error_code ec;
  fs::create_directories(options_.work_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create work dir ", options_.work_dir, ": ", ec.message()));
  }
  // The journal is root's alone (agent/main.cc opens the work dir itself to
  // tasks, 0711, before it checks that they can reach it).
  fs::create_directories(fs::path(options_.work_dir) / "meta", ec);
  ::chmod((fs::path(options_.work_dir) / "meta").c_str(), 0700);
  fs::remove(fs::path(options_.work_dir) / "executors.sock", ec);
  AGORA_ASSIGN_OR_RETURN(
      executors_socket_,
      RouterSocket::Bind(context_, ExecutorEndpoint(), loop_,
                         [this](const PeerId& peer, wire::Envelope::Reader env) {
                           HandleExecutor(peer, env);
                         }));
  agent_id_ = ReadFileOrEmpty(fs::path(options_.work_dir) / "agent_id");
  master_ = std::make_unique<DealerSocket>(
      context_, IsZkUrl(options_.master) ? "" : options_.master, loop_,
      [this](wire::Envelope::Reader env) { HandleMaster(env); }, /*routing_id=*/"", options_.curve);
  // With zk://, each newly elected master hears from this agent at once.
  AGORA_ASSIGN_OR_RETURN(master_follower_, FollowMaster(loop_, options_.master, *master_, [this] {
                           register_backoff_ = absl::Seconds(1);
                           Register();
                         }));
  checkpointer_ = std::make_unique<Checkpointer>((fs::path(options_.work_dir) / "meta").string());
  if (options_.task_users.per_framework_uids) {
    fs::create_directories(fs::path(options_.task_uid_file).parent_path(), ec);
    uids_ = std::make_unique<UidPool>(options_.task_uid_file, options_.task_uids);
  }
  Recover();
  Register();
  gc_ = std::make_unique<SandboxGc>(
      SandboxGcOptions{options_.work_dir, options_.gc_delay, options_.gc_disk_headroom});
  gc_timer_ = loop_.Every(absl::Hours(1), [this] { CollectGarbage(); });
  CollectGarbage();
  return absl::OkStatus();
}

void Agent::CollectGarbage() {
  absl::flat_hash_set<std::string> keep;
  for (const auto& [key, task] : tasks_) keep.insert(task.sandbox);
  for (const auto& [id, executor] : executors_) keep.insert(ExecutorDir(executor.framework_id, id));
  ++stats_.gc_passes;
  gc_->Collect(std::move(keep));
}

void Agent::Recover() {
  Checkpoints checkpoints = checkpointer_->Load();
  for (TaskCheckpoint& c : checkpoints.tasks) {
    Task& task = tasks_[TaskKey{c.framework_id, c.spec.task_id}];
    static_cast<TaskCheckpoint&>(task) = std::move(c);
  }
  int alive = 0;
  for (const ExecutorCheckpoint& c : checkpoints.executors) {
    Executor& executor = executors_[c.executor_id];
    executor.id = c.executor_id;
    executor.framework_id = c.framework_id;
    executor.pid = c.pid;
    executor.peer = c.executor_id;  // an executor's routing id is its id
    executor.adopted = true;
    for (const auto& [key, task] : tasks_) {
      if (task.executor_id != executor.id || IsTerminal(task.state)) continue;
      executor.active.insert(key.second);
      // Launches it may never have received go out again on registration;
      // executors ignore a launch they have seen.
      if (task.state == TaskState::kStaging) executor.queued.push_back(key.second);
    }
    if (ExecutorAlive(c.pid, c.executor_id)) {
      ++alive;
      executor_by_framework_[executor.framework_id] = executor.id;
      executor_by_peer_[executor.peer] = executor.id;
    } else {
      ExecutorExited(executor.id, "exited while the agent was down");
    }
  }
  // Tasks whose executor was never checkpointed (the agent died in between).
  for (auto& [key, task] : tasks_) {
    if (!IsTerminal(task.state) && !executors_.contains(task.executor_id)) {
      Report(key, TaskState::kFailed, "its executor was lost while the agent was down",
             "executor_terminated");
    }
  }
  if (!checkpoints.tasks.empty() || !checkpoints.executors.empty()) {
    AGORA_LOG(INFO, "agent") << "recovered " << tasks_.size() << " tasks and " << alive
                             << " live executors";
  }
  if (alive > 0) {
    adopted_check_timer_ = loop_.Every(absl::Seconds(1), [this] { CheckAdoptedExecutors(); });
  }
}

void Agent::CheckAdoptedExecutors() {
  std::vector<std::string> gone;
  for (const auto& [id, executor] : executors_) {
    if (executor.adopted && !ExecutorAlive(executor.pid, id)) gone.push_back(id);
  }
  for (const std::string& id : gone) ExecutorExited(id, "exit status unknown (not our child)");
}

absl::Status Agent::CheckpointTask(const TaskKey& key) {
  return checkpointer_->SaveTask(tasks_.at(key));
}

void Agent::EraseTask(const TaskKey& key) {
  auto it = tasks_.find(key);
  if (it == tasks_.end()) return;
  loop_.Cancel(it->second.retry_timer);
  tasks_.erase(it);
  checkpointer_->RemoveTask(key.first, key.second);
}

// ---- master ------------------------------------------------------------------

void Agent::Register() {
  registered_ = false;
  WireMessage msg;
  auto reg = NewEnvelope(msg).initRegisterAgent();
  reg.setAgentId(agent_id_);
  reg.setHostname(options_.hostname);
  ToWire(options_.resources, reg.initResources());
  ToWire(options_.attributes, reg.initAttributes(options_.attributes.size()));
  reg.setLimitsEnforced(options_.cgroup_version != 0);
  reg.setCgroupVersion(static_cast<uint8_t>(options_.cgroup_version));
  reg.setHttpEndpoint(options_.http_endpoint);
  reg.setHttpCertSha256(options_.http_cert_sha256);
  reg.setAddress(options_.advertise_ip);
  auto tasks = reg.initTasks(tasks_.size());
  size_t i = 0;
  for (const auto& [key, task] : tasks_) {
    tasks[i].setFrameworkId(task.framework_id);
    ToWire(task.spec, tasks[i].initSpec());
    tasks[i].setState(ToWire(task.state));
    ++i;
  }
  master_->Send(msg);
  // Retry until AgentRegistered arrives, backing off to 10s.
  loop_.Cancel(register_timer_);
  register_timer_ = loop_.After(register_backoff_, [this] {
    register_timer_ = 0;
    register_backoff_ = std::min(register_backoff_ * 2, absl::Seconds(10));
    Register();
  });
}

void Agent::HandleMaster(wire::Envelope::Reader env) {
  switch (env.which()) {
    case wire::Envelope::AGENT_REGISTERED:
      return OnRegistered(env.getAgentRegistered());
    case wire::Envelope::REREGISTER_AGENT:
      // Asked once per message the master could not place: one registration
      // in flight (its retry timer armed) answers them all.
      if (registered_ && register_timer_ == 0) {
        AGORA_LOG(INFO, "agent") << "the master asks us to re-register";
        register_backoff_ = absl::Seconds(1);
        Register();
      }
      return;
    case wire::Envelope::RUN_TASK:
      return OnRunTask(env.getRunTask());
    case wire::Envelope::KILL_TASK:
      return OnKillTask(env.getKillTask());
    case wire::Envelope::ACKNOWLEDGE:
      return OnAcknowledge(env.getAcknowledge());
    case wire::Envelope::ERROR:
      if (env.getError().getCode() == wire::ErrorCode::AGENT_GONE) {
        return OnAgentGone(env.getError().getMessage().cStr());
      }
      if (env.getError().getCode() == wire::ErrorCode::NOT_LEADER && !registered_ && master_follower_) {
        // Following zk://: this master may have been elected since we
        // heard of it; register again shortly.
        loop_.Cancel(register_timer_);
        register_timer_ = loop_.After(absl::Milliseconds(200), [this] {
          register_timer_ = 0;
          Register();
        });
        return;
      }
      AGORA_LOG(WARNING, "agent") << "master: " << env.getError().getMessage().cStr();
      return;
    default:
      ++stats_.bad_messages;
      AGORA_LOG(WARNING, "agent") << "unexpected message kind " << static_cast<int>(env.which())
                                  << " from the master";
  }
}

void Agent::OnRegistered(wire::AgentRegistered::Reader msg) {
  const std::string id = msg.getAgentId();
  if (ValidatePathSafeId("agent id", id).ok() && id != agent_id_) {
    agent_id_ = id;
    std::ofstream(fs::path(options_.work_dir) / "agent_id") << agent_id_ << "\n";
  }
  bool first = !registered_;
  registered_ = true;
  register_backoff_ = absl::Seconds(1);
  loop_.Cancel(register_timer_);
  register_timer_ = 0;
  auto interval = absl::Milliseconds(std::max<uint32_t>(msg.getHeartbeatIntervalMs(), 10));
  if (heartbeat_timer_ == 0 || interval != heartbeat_interval_) {
    heartbeat_interval_ = interval;
    loop_.Cancel(heartbeat_timer_);
    heartbeat_timer_ = loop_.Every(heartbeat_interval_, [this] { SendHeartbeat(); });
  }
  if (first) AGORA_LOG(INFO, "agent").With("agent", agent_id_) << "registered as " << agent_id_;
  // The master may be new: resend every update in flight right away.
  for (auto& [key, task] : tasks_) {
    if (!task.pending.empty()) SendHead(key);
  }
}

void Agent::SendHeartbeat() {
  if (!registered_) return;
  WireMessage msg;
  auto heartbeat = NewEnvelope(msg).initAgentHeartbeat();
  heartbeat.setAgentId(agent_id_);
  heartbeat.setCheckpointError(CheckpointProblem());
  master_->Send(msg);
}

void Agent::OnAgentGone(absl::string_view message) {
  AGORA_LOG(ERROR, "agent") << "the master declared this agent gone (" << message
                            << "); killing its tasks and registering anew";
  ShutdownExecutors();
  std::vector<TaskKey> keys;
  for (const auto& [key, task] : tasks_) keys.push_back(key);
  for (const TaskKey& key : keys) EraseTask(key);
  agent_id_.clear();
  std::error_code ec;
  fs::remove(fs::path(options_.work_dir) / "agent_id", ec);
  Register();
}

void Agent::SendErrorToMaster(absl::string_view message) {
  ++stats_.bad_messages;
  AGORA_LOG(WARNING, "agent") << message;
  WireMessage msg;
  auto error = NewEnvelope(msg).initError();
  error.setCode(wire::ErrorCode::INVALID_ARGUMENT);
  error.setMessage(std::string(message));
  master_->Send(msg);
}

void Agent::OnRunTask(wire::RunTask::Reader msg) {
  const std::string framework_id = msg.getFrameworkId();
  TaskSpec spec = FromWire(msg.getTask());
  for (const absl::Status& s : {ValidatePathSafeId("framework id", framework_id),
                                ValidatePathSafeId("task id", spec.task_id), ValidateTaskFiles(spec)}) {
    if (!s.ok()) return SendErrorToMaster(absl::StrCat("run task: ", s.message()));
  }
  TaskKey key{framework_id, spec.task_id};
  if (tasks_.contains(key)) {
    return SendErrorToMaster(
        absl::StrCat("run task: task ", spec.task_id, " of ", framework_id, " already exists"));
  }
  Task& task = tasks_[key];
  task.framework_id = framework_id;
  task.sandbox = (fs::path(options_.work_dir) / "frameworks" / framework_id / "tasks" / spec.task_id)
                     .string();
  task.run_id = NewId("r");
  auto user = UserFor(framework_id, spec.user);
  task.env = TaskEnvironment(framework_id, msg.getFrameworkName(), spec, task.sandbox,
                             user.ok() ? &*user : nullptr);
  task.spec = std::move(spec);
  ++stats_.tasks_launched;

  if (!user.ok()) {
    return Report(key, TaskState::kError, std::string(user.status().message()),
                  absl::IsPermissionDenied(user.status()) ? "user_not_allowed" : "uid_unavailable");
  }
  if (task.spec.pids_max > options_.task_pids_max_allowed) {
    return Report(key, TaskState::kError,
                  absl::StrCat("the task asks for a pids limit of ", task.spec.pids_max,
                               "; this agent allows at most ", options_.task_pids_max_allowed,
                               " (--task-pids-max-allowed)"),
                  "pids_limit");
  }
  if (absl::Status s = PrepareSandbox(task, *user); !s.ok()) {
    return Report(key, TaskState::kFailed, std::string(s.message()), "sandbox_failed");
  }
  Executor* executor = ExecutorFor(framework_id);
  if (executor == nullptr) {
    return Report(key, TaskState::kFailed, "could not start the framework's executor",
                  "executor_failed");
  }
  task.executor_id = executor->id;
  // A task the agent could not record would be lost by a restart: refused.
  if (absl::Status s = CheckpointTask(key); !s.ok()) {
    MaybeArmIdleTimer(*executor);
    return Report(key, TaskState::kError, absl::StrCat("not launched: ", s.message()),
                  "checkpoint_failed");
  }
  executor->active.insert(task.spec.task_id);
  loop_.Cancel(executor->idle_timer);
  executor->idle_timer = 0;
  if (executor->registered) {
    SendLaunch(*executor, task);
  } else {
    executor->queued.push_back(task.spec.task_id);
  }
}

absl::StatusOr<TaskUser> Agent::UserFor(const std::string& framework_id,
                                        const std::string& requested) {
  if (!requested.empty() || uids_ == nullptr) return UserForTask(options_.task_users, requested);
  AGORA_ASSIGN_OR_RETURN(uid_t uid, uids_->For(framework_id));
  const TaskUser user = FrameworkUser(uid);
  return UserForTask(options_.task_users, requested, &user);
}

absl::Status Agent::PrepareSandbox(const Task& task, const TaskUser& user) {
  std::error_code ec;
  const fs::path sandbox = task.sandbox;
  const fs::path tasks_dir = sandbox.parent_path();
  // Above the sandbox all is the agent's: tasks pass through, list nothing.
  if (!fs::is_directory(tasks_dir, ec)) {
    fs::create_directories(tasks_dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", tasks_dir.string(), ": ", ec.message()));
    for (const fs::path& p : {tasks_dir.parent_path().parent_path(), tasks_dir.parent_path(), tasks_dir}) {
      ::chmod(p.c_str(), 0711);
    }
  }
  // One directory per task (each new inode costs: see docs/benchmarks.md).
  // A task id used again after its task ended: the earlier run moves aside.
  if (fs::exists(fs::symlink_status(sandbox, ec))) {
    fs::rename(sandbox, absl::StrCat(task.sandbox, ".", NewId("r")), ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot move the earlier run of ", task.sandbox, " aside: ", ec.message()));
  }
  auto failed = [&](absl::string_view what) {
    return absl::InternalError(absl::StrCat("cannot ", what, " in sandbox ", task.sandbox, ": ", strerror(errno)));
  };
  if (::mkdir(sandbox.c_str(), 0700) != 0) return failed("create the directory");
  UniqueFd dir(::open(sandbox.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return failed("open the directory");
  // Only root can write here until the hand-over below.
  std::vector<std::string> created;  // relative to the sandbox
  auto make_dir = [&](const std::string& rel) -> absl::Status {
    if (::mkdirat(dir.get(), rel.c_str(), 0700) == 0) {
      created.push_back(rel);
    } else if (errno != EEXIST) {
      return failed(absl::StrCat("create ", rel));
    }
    return absl::OkStatus();
  };
  auto make_file = [&](const std::string& rel, const std::string& content) -> absl::Status {
    AGORA_ASSIGN_OR_RETURN(UniqueFd fd, OpenBeneath(dir.get(), rel, O_WRONLY | O_CREAT | O_EXCL, 0640));
    created.push_back(rel);
    for (size_t done = 0; done < content.size();) {
      const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n <= 0) return failed(absl::StrCat("write ", rel));
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  };
  AGORA_RETURN_IF_ERROR(make_file("stdout", ""));
  AGORA_RETURN_IF_ERROR(make_file("stderr", ""));
  if (options_.isolate) AGORA_RETURN_IF_ERROR(make_dir("tmp"));  // the task's /tmp
  for (const auto& [path, content] : task.spec.files) {  // validated: relative, no `..`
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      AGORA_RETURN_IF_ERROR(make_dir(path.substr(0, slash)));
    }
    AGORA_RETURN_IF_ERROR(make_file(path, content));
  }
  // The sandbox is the task's: its contents first, the directory itself last.
  if (options_.task_users.can_switch) {
    for (const std::string& rel : created) {
      if (::fchownat(dir.get(), rel.c_str(), user.uid, user.gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return failed(absl::StrCat("give ", rel, " to user ", user.name));
      }
    }
    if (::fchown(dir.get(), user.uid, user.gid) != 0) return failed(absl::StrCat("give it to user ", user.name));
  }
  return absl::OkStatus();
}

Env Agent::TaskEnvironment(const std::string& framework_id, const std::string& framework_name,
                           const TaskSpec& spec, const std::string& sandbox,
                           const TaskUser* user) const {
  Env env = {{"AGORA_TASK_ID", spec.task_id},
             {"AGORA_TASK_NAME", spec.name},
             {"AGORA_FRAMEWORK_ID", framework_id},
             {"AGORA_FRAMEWORK_NAME", framework_name},
             {"AGORA_AGENT_ID", agent_id_},
             {"AGORA_HOSTNAME", options_.hostname},
             {"AGORA_SANDBOX", sandbox},
             {"AGORA_CPUS", absl::StrCat(spec.resources.cpus())},
             {"AGORA_MEM_MB", absl::StrCat(spec.resources.mem())}};
  std::vector<uint32_t> ports = spec.resources.ports().Expand();
  for (size_t i = 0; i < ports.size(); ++i) {
    env.emplace_back(absl::StrCat("PORT", i), absl::StrCat(ports[i]));
    if (i < spec.port_names.size()) {
      env.emplace_back(absl::StrCat("PORT_", absl::AsciiStrToUpper(spec.port_names[i])),
                       absl::StrCat(ports[i]));
    }
  }
  if (!ports.empty()) {
    env.emplace_back("PORT", absl::StrCat(ports[0]));
    env.emplace_back("PORTS", absl::StrJoin(ports, ","));
  }
  if (user != nullptr) {
    env.emplace_back("USER", user->name);
    env.emplace_back("LOGNAME", user->name);
    env.emplace_back("HOME", user->home.empty() ? sandbox : user->home);
  }
  for (const auto& kv : spec.env) env.push_back(kv);
  return env;
}

void Agent::OnKillTask(wire::KillTask::Reader msg) {
  TaskKey key{msg.getFrameworkId(), msg.getTaskId()};
  auto it = tasks_.find(key);
  if (it == tasks_.end()) {
    // Tell the framework for certain: this task does not exist here.
    Task& task = tasks_[key];
    task.framework_id = key.first;
    task.spec.task_id = key.second;
    return Report(key, TaskState::kLost, "the agent has no such task", "unknown_task");
  }
  Task& task = it->second;
  if (IsTerminal(task.state)) return;
  auto exec = executors_.find(task.executor_id);
  if (exec == executors_.end()) {
    return Report(key, TaskState::kKilled, "killed before it started", "killed");
  }
  Executor& executor = exec->second;
  auto queued = std::find(executor.queued.begin(), executor.queued.end(), key.second);
  if (queued != executor.queued.end()) {  // never handed to the executor
    executor.queued.erase(queued);
    executor.active.erase(key.second);
    MaybeArmIdleTimer(executor);
    return Report(key, TaskState::kKilled, "killed before it started", "killed");
  }
  AGORA_LOG(INFO, "agent").With("task", key.second).With("framework", key.first)
      << "killing task " << key.second << " of " << key.first;
  if (!executor.registered) {
    // A re-adopted executor that has not re-registered yet.
    executor.pending_kills.insert(key.second);
    return;
  }
  SendKill(executor, task);
}

void Agent::SendKill(Executor& executor, const Task& task) {
  WireMessage out;
  auto kill = NewEnvelope(out).initExecutorKill();
  kill.setTaskId(task.spec.task_id);
  absl::Duration grace = task.spec.kill_grace_period > absl::ZeroDuration()
                             ? task.spec.kill_grace_period
                             : options_.kill_grace_period;
  kill.setGracePeriodMs(static_cast<uint32_t>(absl::ToInt64Milliseconds(grace)));
  executors_socket_->Send(executor.peer, out);
}

void Agent::OnAcknowledge(wire::Acknowledge::Reader msg) {
  TaskKey key{msg.getFrameworkId(), msg.getTaskId()};
  auto it = tasks_.find(key);
  if (it == tasks_.end()) return;  // a duplicate ack for a task already done
  Task& task = it->second;
  if (task.pending.empty() || task.pending.front().uuid != msg.getUuid().cStr()) return;
  task.pending.pop_front();
  if (task.head_sent_at != absl::InfinitePast()) update_round_trip_.Observe(loop_.Now() - task.head_sent_at);
  task.head_sent_at = absl::InfinitePast();
  loop_.Cancel(task.retry_timer);
  task.retry_timer = 0;
  task.backoff = absl::Seconds(1);
  if (IsTerminal(task.state) && task.pending.empty()) return EraseTask(key);
  CheckpointTask(key).IgnoreError();  // counted; at worst an update is resent
  if (!task.pending.empty()) SendHead(key);
}

void Agent::Report(const TaskKey& key, TaskState state, std::string message, std::string reason,
                   int exit_code, std::optional<bool> healthy) {
  Task& task = tasks_.at(key);
  if (IsTerminal(task.state)) return;
  // An executor repeats its statuses to a restarted agent: no news, no update.
  if (task.state == state && !task.pending.empty() && task.pending.back().message == message) {
    return;
  }
  task.state = state;
  TaskStatus status;
  status.task_id = key.second;
  status.framework_id = key.first;
  status.agent_id = agent_id_;
  status.state = state;
  status.uuid = NewId("u");
  status.message = std::move(message);
  status.reason = std::move(reason);
  status.exit_code = exit_code;
  status.healthy = healthy;
  status.timestamp = loop_.Now();
  task.pending.push_back(std::move(status));
  // Durable before it leaves; when the journal cannot be written (counted,
  // and no new task is launched) the update still goes out.
  if (checkpointer_ != nullptr) CheckpointTask(key).IgnoreError();
  if (task.pending.size() == 1) SendHead(key);
}

void Agent::SendHead(const TaskKey& key) {
  Task& task = tasks_.at(key);
  if (task.pending.empty()) return;
  TaskStatus& head = task.pending.front();
  head.agent_id = agent_id_;  // the id may have been assigned since
  WireMessage msg;
  ToWire(head, NewEnvelope(msg).initStatusUpdate().initStatus());
  master_->Send(msg);
  ++stats_.updates_sent;
  if (task.head_sent_at == absl::InfinitePast()) task.head_sent_at = loop_.Now();
  loop_.Cancel(task.retry_timer);
  task.retry_timer = loop_.After(task.backoff, [this, key] {
    auto it = tasks_.find(key);
    if (it == tasks_.end()) return;
    it->second.retry_timer = 0;
    it->second.backoff = std::min(it->second.backoff * 2, options_.max_update_backoff);
    ++stats_.updates_resent;
    SendHead(key);
  });
}

// ---- executors -------------------------------------------------------------

Agent::Executor* Agent::ExecutorFor(const std::string& framework_id) {
  auto by_fw = executor_by_framework_.find(framework_id);
  if (by_fw != executor_by_framework_.end()) {
    Executor& e = executors_.at(by_fw->second);
    if (!e.shutting_down) return &e;
  }
  Executor executor;
  executor.id = NewId("e");
  executor.framework_id = framework_id;
  if (absl::Status s = StartExecutor(executor); !s.ok()) {
    AGORA_LOG(ERROR, "agent") << s.message();
    return nullptr;
  }
  executor.peer = executor.id;  // its routing id
  checkpointer_->SaveExecutor({framework_id, executor.id, executor.pid});
  executor_by_framework_[framework_id] = executor.id;
  executor_by_pid_[executor.pid] = executor.id;
  executor_by_peer_[executor.peer] = executor.id;
  auto [it, ok] = executors_.emplace(executor.id, std::move(executor));
  return &it->second;
}

std::string Agent::ExecutorDir(const std::string& framework_id,
                               const std::string& executor_id) const {
  return (fs::path(options_.work_dir) / "frameworks" / framework_id / "executors" / executor_id)
      .string();
}

absl::Status Agent::StartExecutor(Executor& executor) {
  const fs::path dir = ExecutorDir(executor.framework_id, executor.id);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  ::chmod(dir.parent_path().c_str(), 0700);  // executors' logs and records are the agent's
  std::vector<std::string> args = {
      options_.executor_path,
      "--agent", ExecutorEndpoint(),
      "--framework_id", executor.framework_id,
      "--executor_id", executor.id,
      "--executor_dir", dir.string(),
      "--recovery_timeout", absl::FormatDuration(options_.recovery_timeout),
      "--usage_interval", absl::FormatDuration(options_.usage_interval),
      "--log_max_bytes", std::to_string(options_.task_log_max_mib << 20),
      "--log_max_files", std::to_string(options_.task_log_max_files)};
  if (options_.task_users.allow_root) args.push_back("--root_tasks");
  AGORA_ASSIGN_OR_RETURN(executor.pid, launcher_->Launch(args, (dir / "executor.log").string()));
  const pid_t pid = executor.pid;
  ++stats_.executors_started;
  AGORA_LOG(INFO, "agent").With("framework", executor.framework_id)
      << "started executor " << executor.id << " (pid " << pid << ") for framework " << executor.framework_id;
  return absl::OkStatus();
}

void Agent::HandleExecutor(const PeerId& peer, wire::Envelope::Reader env) {
  switch (env.which()) {
    case wire::Envelope::REGISTER_EXECUTOR:
      return OnRegisterExecutor(peer, env.getRequestId(), env.getRegisterExecutor());
    case wire::Envelope::EXECUTOR_STATUS:
      return OnExecutorStatus(peer, env.getExecutorStatus());
    case wire::Envelope::USAGE_REPORT:
      return OnExecutorUsage(peer, env.getUsageReport());
    default:
      ++stats_.bad_messages;
      AGORA_LOG(WARNING, "agent") << "unexpected message kind " << static_cast<int>(env.which())
                                  << " from an executor";
  }
}

void Agent::OnRegisterExecutor(const PeerId& peer, uint64_t request_id,
                               wire::RegisterExecutor::Reader msg) {
  auto it = executors_.find(std::string(msg.getExecutorId()));
  if (it == executors_.end() || it->second.framework_id != msg.getFrameworkId().cStr() ||
      peer != it->second.peer) {
    AGORA_LOG(WARNING, "agent") << "unknown executor " << msg.getExecutorId().cStr()
                                << " registered; telling it to shut down";
    WireMessage out;
    NewEnvelope(out).initShutdownExecutor();
    executors_socket_->Send(peer, out);
    return;
  }
  // Registration and heartbeat in one: always answer, with our instance id
  // so that an executor notices an agent restart.
  WireMessage reply;
  NewEnvelope(reply, request_id).initExecutorRegistered().setAgentInstance(instance_);
  Executor& executor = it->second;
  if (executor.registered) {
    executors_socket_->Send(peer, reply);
    return;
  }
  executor.registered = true;
  if (executor.adopted) {
    AGORA_LOG(INFO, "agent") << "re-adopted executor " << executor.id << " (pid "
                             << executor.pid << ")";
  }
  executors_socket_->Send(peer, reply);
  std::vector<std::string> queued;
  queued.swap(executor.queued);
  for (const std::string& task_id : queued) {
    auto t = tasks_.find(TaskKey{executor.framework_id, task_id});
    if (t != tasks_.end() && !IsTerminal(t->second.state)) SendLaunch(executor, t->second);
  }
  for (const std::string& task_id : executor.pending_kills) {
    auto t = tasks_.find(TaskKey{executor.framework_id, task_id});
    if (t != tasks_.end() && !IsTerminal(t->second.state)) SendKill(executor, t->second);
  }
  executor.pending_kills.clear();
  MaybeArmIdleTimer(executor);
}

void Agent::SendLaunch(Executor& executor, Task& task) {
  WireMessage msg;
  auto launch = NewEnvelope(msg).initLaunchTask();
  launch.setFrameworkId(task.framework_id);
  ToWire(task.spec, launch.initTask());
  launch.setSandbox(task.sandbox);
  launch.setRunId(task.run_id);
  ToWire(task.env, launch.initEnv(task.env.size()));
  launch.setCgroupVersion(static_cast<uint8_t>(options_.cgroup_version));
  if (options_.cgroup_version != 0) {
    launch.setMemLimitBytes(static_cast<uint64_t>(task.spec.resources.mem() * 1024 * 1024));
    launch.setCpuShares(static_cast<uint32_t>(task.spec.resources.cpus() * 1024));
  }
  absl::Duration grace = task.spec.kill_grace_period > absl::ZeroDuration()
                             ? task.spec.kill_grace_period
                             : options_.kill_grace_period;
  launch.setGracePeriodMs(static_cast<uint32_t>(absl::ToInt64Milliseconds(grace)));
  // Resolved again at each launch (after an agent restart too).
  auto user = UserFor(task.framework_id, task.spec.user);
  if (!user.ok()) {  // the agent restarted with another policy
    executor.active.erase(task.spec.task_id);
    MaybeArmIdleTimer(executor);
    return Report(TaskKey{task.framework_id, task.spec.task_id}, TaskState::kError,
                  std::string(user.status().message()), "user_not_allowed");
  }
  launch.setIsolate(options_.isolate);
  const double disk_mib = task.spec.resources.disk() > 0 ? task.spec.resources.disk()
                                                         : static_cast<double>(options_.task_disk_default_mib);
  launch.setDiskLimitBytes(static_cast<uint64_t>(disk_mib * 1024 * 1024));
  if (options_.pids_limits) {
    launch.setPidsMax(task.spec.pids_max != 0 ? task.spec.pids_max : options_.task_pids_max);
  }
  if (options_.task_users.can_switch) {
    launch.setSwitchUser(true);
    launch.setUid(user->uid);
    launch.setGid(user->gid);
    auto groups = launch.initGroups(user->groups.size());
    for (size_t i = 0; i < user->groups.size(); ++i) groups.set(i, user->groups[i]);
  }
  executors_socket_->Send(executor.peer, msg);
}

void Agent::OnExecutorUsage(const PeerId& peer, wire::UsageReport::Reader msg) {
  auto by_peer = executor_by_peer_.find(peer);
  if (by_peer == executor_by_peer_.end()) {
    ++stats_.bad_messages;
    return;
  }
  if (!registered_) return;  // usage is a sample: the next one will do
  const std::string& framework_id = executors_.at(by_peer->second).framework_id;
  std::vector<wire::TaskUsage::Reader> known;
  for (auto u : msg.getUsages()) {
    if (tasks_.contains(TaskKey{framework_id, u.getTaskId()})) known.push_back(u);
  }
  if (known.empty()) return;
  WireMessage out;
  auto report = NewEnvelope(out).initUsageReport();
  report.setAgentId(agent_id_);
  auto list = report.initUsages(known.size());
  for (size_t i = 0; i < known.size(); ++i) {
    list.setWithCaveats(i, known[i]);
    list[i].setFrameworkId(framework_id);
  }
  ++stats_.usage_reports;
  master_->Send(out);
}

void Agent::OnExecutorStatus(const PeerId& peer, wire::ExecutorStatus::Reader msg) {
  auto by_peer = executor_by_peer_.find(peer);
  if (by_peer == executor_by_peer_.end()) {
    ++stats_.bad_messages;
    return;
  }
  Executor& executor = executors_.at(by_peer->second);
  TaskKey key{executor.framework_id, msg.getTaskId()};
  if (!tasks_.contains(key)) {
    ++stats_.bad_messages;
    return;
  }
  TaskState state = FromWire(msg.getState());
  Report(key, state, msg.getMessage(), msg.getReason(), msg.getExitCode(),
         msg.getHasHealth() ? std::optional<bool>(msg.getHealthy()) : std::nullopt);
  if (IsTerminal(state)) {
    executor.active.erase(key.second);
    MaybeArmIdleTimer(executor);
  }
}

void Agent::MaybeArmIdleTimer(Executor& executor) {
  if (!executor.active.empty() || executor.idle_timer != 0 || !executor.registered) return;
  const std::string id = executor.id;
  executor.idle_timer = loop_.After(options_.executor_idle_timeout, [this, id] {
    auto it = executors_.find(id);
    if (it == executors_.end()) return;
    it->second.idle_timer = 0;
    if (!it->second.active.empty()) return;
    it->second.shutting_down = true;
    WireMessage msg;
    NewEnvelope(msg).initShutdownExecutor();
    executors_socket_->Send(it->second.peer, msg);
  });
}

void Agent::ShutdownExecutors() {
  for (auto& [id, executor] : executors_) {
    executor.shutting_down = true;
    if (executor.registered || executor.adopted) {
      WireMessage msg;
      NewEnvelope(msg).initShutdownExecutor();
      executors_socket_->Send(executor.peer, msg);
    } else if (executor.pid > 0) {
      ::kill(executor.pid, SIGKILL);  // our child, not yet connected
    }
  }
}

void Agent::ReapChildren() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    auto it = executor_by_pid_.find(pid);
    if (it == executor_by_pid_.end()) continue;
    std::string id = it->second;
    executor_by_pid_.erase(it);
    ExecutorExited(id, DescribeWaitStatus(status));
  }
}

void Agent::ExecutorExited(const std::string& id, const std::string& how) {
  // A copy: `id` may be the record's own (Recover() passes executor.id),
  // which the erase below frees.
  const std::string executor_id = id;
  auto it = executors_.find(executor_id);
  if (it == executors_.end()) return;
  Executor executor = std::move(it->second);
  executors_.erase(it);
  checkpointer_->RemoveExecutor(executor_id);
  loop_.Cancel(executor.idle_timer);
  auto fw = executor_by_framework_.find(executor.framework_id);
  if (fw != executor_by_framework_.end() && fw->second == executor_id) {
    executor_by_framework_.erase(fw);
  }
  auto by_peer = executor_by_peer_.find(executor.peer);
  if (by_peer != executor_by_peer_.end() && by_peer->second == executor_id) {
    executor_by_peer_.erase(by_peer);
  }
  if (!executor.active.empty() || !executor.shutting_down) {
    ++stats_.executors_lost;
    AGORA_LOG(WARNING, "agent") << "executor " << executor_id << " " << how << " with "
                                << executor.active.size() << " active tasks";
  }
  // The executor records each task's final status before it reports it.
  const auto exits = ReadExitRecords(ExecutorDir(executor.framework_id, executor_id));
  for (const std::string& task_id : executor.active) {
    TaskKey key{executor.framework_id, task_id};
    auto task = tasks_.find(key);
    if (task == tasks_.end()) continue;
    if (auto record = exits.find(task_id); record != exits.end()) {
      const ExitRecord& r = record->second;
      Report(key, r.state, r.message, r.reason, r.exit_code);
      continue;
    }
    // Nobody is left to reap or kill it: find its processes and end them,
    // by its cgroup (which nothing in it can leave), else by its environment.
    int killed = KillCgroupProcesses(options_.cgroup_version, executor_id, task_id);
    if (killed == 0) killed = KillSandboxProcesses(task->second.sandbox);
    stats_.orphans_killed += killed;
    Report(key, TaskState::kFailed,
           absl::StrCat("the executor ", how, " before the task ended",
                        killed > 0 ? absl::StrCat("; its ", killed, " processes were killed") : ""),
           "executor_terminated");
  }
  // An executor removes its cgroups as it exits; one that died leaves them.
  RemoveExecutorCgroups(executor_id, /*attempts=*/250);
}

void Agent::RemoveExecutorCgroups(const std::string& executor_id, int attempts) {
  if (options_.cgroup_version == 0 || RemoveLeftoverCgroups(options_.cgroup_version, executor_id) ||
      attempts <= 1) {
    return;
  }
  // Processes just killed take a moment to leave their cgroups.
  loop_.After(absl::Milliseconds(20), [this, executor_id, attempts] { RemoveExecutorCgroups(executor_id, attempts - 1); });
}

}  // namespace agora::agent
