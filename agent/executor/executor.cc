#include "agent/executor/executor.h"
#include "agent/executor/sandbox_usage.h"
#include "agent/executor/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include <capnp/message.h>

#include "absl/container/flat_hash_map.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "agent/checkpoint.h"
#include "agent/sandbox_files.h"
#include "common/framing.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/wire_convert.h"

namespace agora::agent {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The environment a task starts from: a few variables of the executor's
// own, then the agent's AGORA_* and port variables, then the task's.
std::vector<std::string> BuildEnvironment(const Env& env) {
  std::vector<std::string> out;
  auto set_by_task = [&](absl::string_view name) {
    for (const auto& [k, v] : env) {
      if (k == name) return true;
    }
    return false;
  };
  const char* path = std::getenv("PATH");
  if (!set_by_task("PATH")) out.push_back(absl::StrCat("PATH=", path != nullptr ? path : kDefaultPath));
  for (const char* name : {"LANG", "LC_ALL", "TZ", "HOME", "USER"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && !set_by_task(name)) out.push_back(absl::StrCat(name, "=", v));
  }
  for (const auto& [k, v] : env) {
    if (k.empty() || k.find('=') != std::string::npos) continue;
    out.push_back(absl::StrCat(k, "=", v));
  }
  return out;
}

// Whether a read of `pipe` would return data now.
bool PipeHasData(int pipe) {
  int bytes = 0;
  return ::ioctl(pipe, FIONREAD, &bytes) == 0 && bytes > 0;
}

}  // namespace

Executor::Executor(ExecutorOptions options, EventLoop& loop, zmq::context_t& context)
    : options_(std::move(options)), loop_(loop) {
  agent_ = std::make_unique<DealerSocket>(
      context, options_.agent_endpoint, loop_,
      [this](wire::Envelope::Reader env) { HandleAgent(env); }, options_.executor_id);
}

Executor::~Executor() {
  alive_.reset();       // a walk still queued reports to no one
  disk_meter_.reset();
  loop_.Cancel(heartbeat_timer_);
  loop_.Cancel(usage_timer_);
  loop_.Cancel(disk_timer_);
  cgroups_.reset();  // every task's cgroup is gone, then their parent
}

void Executor::Start() {
  last_contact_ = loop_.Now();
  Heartbeat();
  heartbeat_timer_ = loop_.Every(absl::Seconds(1), [this] { Heartbeat(); });
  if (options_.usage_interval > absl::ZeroDuration()) {
    usage_timer_ = loop_.Every(options_.usage_interval, [this] { ReportUsage(); });
  }
  disk_timer_ = loop_.Every(options_.disk_check_interval, [this] { CheckDisk(); });
}

void Executor::CheckDisk() {
  if (disk_check_running_) return;  // a slow walk is still under way
  std::vector<std::pair<std::string, std::string>> sandboxes;  // task, sandbox
  for (const auto& [id, task] : tasks_) {
    if (task.disk_limit_bytes > 0 && !task.kill_requested) sandboxes.emplace_back(id, task.sandbox);
  }
  if (sandboxes.empty()) return;
  disk_check_running_ = true;
  std::weak_ptr<int> alive = alive_;
  disk_meter_->Post([this, alive, sandboxes = std::move(sandboxes)] {
    std::vector<std::pair<std::string, uint64_t>> measured;
    for (const auto& [id, sandbox] : sandboxes) measured.emplace_back(id, SandboxBytes(sandbox));
    loop_.Post([this, alive, measured = std::move(measured)] {
      if (alive.lock()) OnDiskMeasured(measured);
    });
  });
}

void Executor::OnDiskMeasured(const std::vector<std::pair<std::string, uint64_t>>& bytes_by_task) {
  disk_check_running_ = false;
  for (const auto& [id, bytes] : bytes_by_task) {
    auto it = tasks_.find(id);
    if (it == tasks_.end() || it->second.kill_requested || bytes <= it->second.disk_limit_bytes) continue;
    AGORA_LOG(WARNING, "executor") << "task " << id << " is over its disk limit; killing it";
    it->second.disk_used_bytes = bytes;
    Kill(it->second, it->second.grace);
  }
}

void Executor::ReportUsage() {
  std::optional<absl::flat_hash_map<pid_t, ProcessUsage>> proc;  // read once, if needed
  auto from_proc = [&](pid_t pid) {
    if (!proc) proc = UsageByProcessGroup();
    auto it = proc->find(pid);
    return it == proc->end() ? ProcessUsage{} : it->second;
  };
  const double now = absl::ToDoubleSeconds(loop_.Now() - absl::UnixEpoch());
  std::vector<TaskUsage> usages;
  for (auto& [id, task] : tasks_) {
    if (task.pid <= 0 || task.kill_requested) continue;
    const std::optional<double> cgroup_cpu = task.cgroup.CpuSeconds();
    const std::optional<uint64_t> cgroup_mem = task.cgroup.MemoryBytes();
    const double cpu = cgroup_cpu ? *cgroup_cpu : from_proc(task.pid).cpu_seconds;
    const uint64_t mem = cgroup_mem ? *cgroup_mem : from_proc(task.pid).rss_bytes;
    const bool first = task.cpu_rate.first();
    const double rate = task.cpu_rate.Update(cpu, now);
    if (!first) usages.push_back({"", id, rate, mem});
  }
  if (usages.empty()) return;
  WireMessage msg;
  auto list = NewEnvelope(msg).initUsageReport().initUsages(usages.size());
  for (size_t i = 0; i < usages.size(); ++i) {
    list[i].setTaskId(usages[i].task_id);
    list[i].setCpusUsed(usages[i].cpus);
    list[i].setMemBytes(usages[i].mem_bytes);
  }
  agent_->Send(msg);
}

void Executor::Heartbeat() {
  if (loop_.Now() - last_contact_ >= options_.recovery_timeout) {
    Shutdown("no agent has answered for the recovery timeout");
  }
  WireMessage msg;
  auto reg = NewEnvelope(msg, ++seq_).initRegisterExecutor();
  reg.setFrameworkId(options_.framework_id);
  reg.setExecutorId(options_.executor_id);
  reg.setPid(::getpid());
  agent_->Send(msg);
}

void Executor::OnRegistered(uint64_t seq, const std::string& instance) {
  last_contact_ = loop_.Now();
  if (instance != agent_instance_) {
    if (!agent_instance_.empty()) {
      AGORA_LOG(INFO, "executor") << "the agent restarted; sending " << reported_.size()
                                  << " task statuses again";
    }
    agent_instance_ = instance;
    for (auto& [task_id, reported] : reported_) SendStatus(task_id, reported);
    return;
  }
  // This instance answered a heartbeat sent after these statuses: over one
  // ipc connection that means it received them.
  absl::erase_if(reported_, [&](const auto& entry) {
    const Reported& r = entry.second;
    return IsTerminal(r.state) && r.instance == instance && r.seq < seq;
  });}

void Executor::HandleAgent(wire::Envelope::Reader env) {
  switch (env.which()) {
    case wire::Envelope::EXECUTOR_REGISTERED:
      return OnRegistered(env.getRequestId(), env.getExecutorRegistered().getAgentInstance());
    case wire::Envelope::LAUNCH_TASK:
      return OnLaunch(env.getLaunchTask());
    case wire::Envelope::EXECUTOR_KILL: {
      auto it = tasks_.find(std::string(env.getExecutorKill().getTaskId()));
      if (it == tasks_.end()) {
        return Report(env.getExecutorKill().getTaskId(), TaskState::kLost,
                      "the executor has no such task", "unknown_task");
      }
      return Kill(it->second, absl::Milliseconds(env.getExecutorKill().getGracePeriodMs()));
    }
    case wire::Envelope::SHUTDOWN_EXECUTOR:
      return Shutdown("the agent asked");
    default:
      AGORA_LOG(WARNING, "executor") << "unexpected message kind "
                                     << static_cast<int>(env.which());
  }
}

void Executor::OnLaunch(wire::LaunchTask::Reader msg) {
  const TaskSpec spec = FromWire(msg.getTask());
  if (shutting_down_) {
    return Report(spec.task_id, TaskState::kFailed, "the executor is shutting down",
                  "executor_shutting_down");
  }
  // A repeated launch (a restarted agent sends launches it cannot know
  // arrived): running, or already reported. A new run of a task id that ran
  // before is not one: the agent had the old run's end (it forgot the task
  // only once that was acknowledged).
  const std::string run_id = msg.getRunId();
  if (tasks_.contains(spec.task_id)) return;
  launching_run_ = run_id;  // for the reports below, until the task exists
  absl::Cleanup launched = [this] { launching_run_.clear(); };
  if (auto r = reported_.find(spec.task_id); r != reported_.end()) {
    if (r->second.run_id == run_id) return;
    reported_.erase(r);
  }
  Task task;
  task.id = spec.task_id;
  task.sandbox = msg.getSandbox();
  task.run_id = run_id;
  task.grace = absl::Milliseconds(msg.getGracePeriodMs());
  task.disk_limit_bytes = msg.getDiskLimitBytes();
  if (msg.getSwitchUser()) {
    RunAs user;
    user.uid = msg.getUid();
    user.gid = msg.getGid();
    for (uint32_t g : msg.getGroups()) user.groups.push_back(g);
    task.user = std::move(user);
  }
  const std::string sandbox = msg.getSandbox();
  if (msg.getCgroupVersion() != 0) {
    auto cg = cgroups_->Acquire(msg.getCgroupVersion(), spec.task_id,
                                {msg.getMemLimitBytes(), msg.getCpuShares(), msg.getPidsMax()});
    if (!cg.ok()) {
      return Report(spec.task_id, TaskState::kFailed,
                    absl::StrCat("cannot set up resource limits: ", cg.status().message()),
                    "cgroup_failed");
    }
    task.cgroup = *std::move(cg);
  }

  SpawnSpec spawn;
  spawn.command = spec.command;
  spawn.env = BuildEnvironment(FromWire(msg.getEnv()));
  spawn.dir = sandbox;
  UniqueFd out_writer, err_writer;  // the task's ends: closed here once it has them
  if (absl::Status s = OpenTaskOutput(task, spawn, out_writer, err_writer); !s.ok()) {
    cgroups_->Release(std::move(task.cgroup));
    return Report(spec.task_id, TaskState::kFailed,
                  absl::StrCat("cannot set up the task's stdout and stderr: ", s.message()), "launch_failed");
  }
  if (task.cgroup.valid()) spawn.cgroup_procs = task.cgroup.procs_files();
  spawn.user = task.user;
  task.isolated = msg.getIsolate();
  if (task.isolated) {
    spawn.isolate = true;
    spawn.init = options_.init_path;
    spawn.tmp_dir = sandbox + "/tmp";
  }
  auto spawned = Spawn(spawn);
  out_writer.Reset();
  err_writer.Reset();
  if (!spawned.ok()) {
    cgroups_->Release(std::move(task.cgroup));
    return Report(spec.task_id, TaskState::kFailed, std::string(spawned.status().message()),
                  "launch_failed");
  }
  const pid_t pid = *spawned;
  task.pid = pid;
  task_by_pid_[pid] = task.id;
  if (spec.health_check.kind != HealthCheck::Kind::kNone) {
    task.health = std::make_unique<Health>();
    task.health->check = spec.health_check;
    task.health->env = std::move(spawn.env);
    task.health->started = loop_.Now();
  }
  Task& running = tasks_.emplace(task.id, std::move(task)).first->second;
  const std::string id = running.id;
  loop_.WatchFd(running.out.pipe.get(), [this, id] { OnTaskOutput(id, /*err=*/false); });
  loop_.WatchFd(running.err.pipe.get(), [this, id] { OnTaskOutput(id, /*err=*/true); });
  Report(spec.task_id, TaskState::kRunning, absl::StrCat("started as pid ", pid), "");
  if (running.health != nullptr) ScheduleHealthCheck(running, running.health->check.interval);
}

absl::Status Executor::OpenTaskOutput(Task& task, SpawnSpec& spawn, UniqueFd& out_writer,
                                      UniqueFd& err_writer) {
  // The sandbox's parents are root's: its path is trusted, its contents not.
  auto dir = OpenTrustedDirectory(task.sandbox);
  if (!dir.ok()) return dir.status();
  for (auto [stream, writer, name] : {std::tuple{&task.out, &out_writer, "stdout"},
                                      std::tuple{&task.err, &err_writer, "stderr"}}) {
    auto log = TaskLog::Open(dir->get(), name, options_.log_limits, task.user);
    if (!log.ok()) return log.status();
    stream->log = *std::move(log);
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
    stream->pipe = UniqueFd(ends[0]);
    *writer = UniqueFd(ends[1]);
    ::fcntl(ends[0], F_SETFL, O_NONBLOCK);  // the task's end stays blocking
  }
  spawn.stdout_fd = out_writer.get();
  spawn.stderr_fd = err_writer.get();
  return absl::OkStatus();
}

void Executor::OnTaskOutput(const std::string& task_id, bool err) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  Task::Stream& stream = err ? it->second.err : it->second.out;
  if (!stream.pipe.valid() || stream.log->Pump(stream.pipe.get())) return;
  // Every writer closed it (the task closed its stdout, or is gone).
  loop_.UnwatchFd(stream.pipe.get());
  stream.pipe.Reset();
}

void Executor::CloseTaskOutput(Task& task) {
  for (auto [stream, name] : {std::pair{&task.out, "stdout"}, std::pair{&task.err, "stderr"}}) {
    if (stream->pipe.valid()) {
      // What the task wrote before it ended is in the pipe: all of it goes to
      // the file before its end is reported. A writer it left behind cannot
      // hold the loop: this stops at an empty pipe, or after 64 MiB.
      for (int i = 0; i < 64 && stream->log->Pump(stream->pipe.get()) && PipeHasData(stream->pipe.get()); ++i) {
      }
      loop_.UnwatchFd(stream->pipe.get());
      stream->pipe.Reset();
    }
    if (stream->log != nullptr && (stream->log->dropped_bytes() > 0 || stream->log->failed_rotations() > 0)) {
      AGORA_LOG(WARNING, "executor") << "task " << task.id << ": " << stream->log->dropped_bytes()
                                     << " bytes of its " << name << " dropped, "
                                     << stream->log->failed_rotations() << " rotations failed";
    }
  }
}

void Executor::Kill(Task& task, absl::Duration grace) {
  if (task.kill_requested) return;
  task.kill_requested = true;
  ::kill(-task.pid, SIGTERM);
  const std::string id = task.id;
  task.kill_timer = loop_.After(grace, [this, id] {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) return;
    it->second.kill_timer = 0;
    ::kill(-it->second.pid, SIGKILL);
  });
}

void Executor::Shutdown(absl::string_view why) {
  if (!shutting_down_) AGORA_LOG(INFO, "executor") << "shutting down: " << why;
  shutting_down_ = true;
  for (auto& [id, task] : tasks_) Kill(task, task.grace);
  MaybeFinishShutdown();
}

void Executor::MaybeFinishShutdown() {
  if (!shutting_down_ || !tasks_.empty()) return;
  // Give the last reports a moment to leave the socket.
  loop_.After(absl::Milliseconds(200), [this] { loop_.Stop(); });
}

void Executor::ReapChildren() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (auto check = health_check_by_pid_.find(pid); check != health_check_by_pid_.end()) {
      const std::string id = check->second;
      health_check_by_pid_.erase(check);
      auto task = tasks_.find(id);
      if (task == tasks_.end() || task->second.health == nullptr) continue;
      Health& h = *task->second.health;
      h.check_pid = -1;
      loop_.Cancel(h.timer);
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      OnHealthResult(id, h.seq, ok,
                     ok ? "health command exited 0"
                        : absl::StrCat("health command ", DescribeWaitStatus(status)));
      continue;
    }
    auto it = task_by_pid_.find(pid);
    if (it == task_by_pid_.end()) continue;
    auto task = tasks_.find(it->second);
    task_by_pid_.erase(it);
    if (task == tasks_.end()) continue;
    TaskExited(task->second, status);
    tasks_.erase(task);
  }
  MaybeFinishShutdown();
}

void Executor::TaskExited(Task& task, int status) {
  loop_.Cancel(task.kill_timer);
  StopHealthCheck(task);
  ::kill(-task.pid, SIGKILL);  // whatever the task left behind in its group
  const uint64_t oom_kills = task.cgroup.OomKills();
  const uint64_t limit_mib = task.cgroup.mem_limit_bytes() >> 20;
  cgroups_->Release(std::move(task.cgroup));
  bool exited = WIFEXITED(status);
  const int code = exited ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // An isolated task's init reports a command killed by signal N as 128 + N
  // (agent/init/agora_init.c), as a shell does.
  if (task.isolated && exited && code > 128 && code < 128 + NSIG) exited = false;
  const std::string how = exited ? absl::StrCat("exited with status ", code)
                                 : absl::StrCat("killed by signal ", code - 128);
  ExitRecord record;
  record.exit_code = code;
  if (task.disk_used_bytes > 0) {
    record = {TaskState::kFailed, code,
              absl::StrCat("disk limit of ", task.disk_limit_bytes >> 20, " MiB exceeded: the sandbox held ",
                           task.disk_used_bytes == kUnmeasurable
                               ? std::string("more than can be measured")
                               : absl::StrCat(task.disk_used_bytes >> 20, " MiB"),
                           " (", how, ")"),
              "disk_limit"};
  } else if (task.kill_requested) {
    record = {TaskState::kKilled, code, absl::StrCat("killed on request (", how, ")"), "killed"};
  } else if (oom_kills > 0) {
    record = {TaskState::kFailed, code,
              absl::StrCat("memory limit of ", limit_mib,
                           " MiB exceeded; the kernel killed the task (", how, ")"),
              "memory_limit"};
  } else if (exited && code == 0) {
    record = {TaskState::kFinished, 0, how, ""};
  } else {
    record = {TaskState::kFailed, code, how, exited ? "exit_status" : "signaled"};
  }
  CloseTaskOutput(task);
  // Recorded first: an agent that restarts later reads it from there.
  AppendExitRecord(options_.executor_dir, task.id, record);
  Report(task.id, record.state, record.message, record.reason, record.exit_code);
}

void Executor::Report(const std::string& task_id, TaskState state, const std::string& message,
                      const std::string& reason, int exit_code, std::optional<bool> healthy) {
  Reported& reported = reported_[task_id];
  auto task = tasks_.find(task_id);
  std::string run = task != tasks_.end() ? task->second.run_id : launching_run_;
  if (run.empty()) run = reported.run_id;
  reported = {state, message, reason, exit_code, healthy, 0, "", std::move(run)};
  SendStatus(task_id, reported);
}

void Executor::SendStatus(const std::string& task_id, Reported& reported) {
  reported.seq = seq_;
  reported.instance = agent_instance_;
  WireMessage msg;
  auto status = NewEnvelope(msg).initExecutorStatus();
  status.setTaskId(task_id);
  status.setState(ToWire(reported.state));
  status.setMessage(reported.message);
  status.setReason(reported.reason);
  status.setExitCode(reported.exit_code);
  status.setHasHealth(reported.healthy.has_value());
  status.setHealthy(reported.healthy.value_or(false));
  agent_->Send(msg);
}

}  // namespace agora::agent
