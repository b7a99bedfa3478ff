// Executor: health checks. Each task with a check is probed every interval
// (a command forked in its sandbox, or a tcp/http probe on the prober
// thread), each probe bounded by its timeout. Failures before the first
// success do not count while the grace period lasts; `max_failures`
// consecutive ones make the task unhealthy, one success healthy again. Only
// changes are reported, as RUNNING updates with `healthy` set: the framework
// decides what to do about an unhealthy task.
#include <signal.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "agent/executor/executor.h"
#include "agent/executor/spawn.h"
#include "common/log.h"

namespace agora::agent {

void Executor::ScheduleHealthCheck(Task& task, absl::Duration delay) {
  const std::string id = task.id;
  task.health->timer = loop_.After(delay, [this, id] { RunHealthCheck(id); });
}

void Executor::RunHealthCheck(const std::string& task_id) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.health == nullptr || it->second.kill_requested) return;
  Task& task = it->second;
  Health& h = *task.health;
  const uint64_t seq = ++h.seq;
  const HealthCheck& c = h.check;
  if (c.kind == HealthCheck::Kind::kCommand) {
    SpawnSpec spawn;
    spawn.command = c.command;
    spawn.env = h.env;
    spawn.dir = task.sandbox;
    spawn.user = task.user;
    // Inside the task's isolation: its namespaces, its cgroups, its user.
    if (task.isolated) spawn.join_namespaces_of = task.pid;
    if (task.cgroup.valid()) spawn.cgroup_procs = task.cgroup.procs_files();
    auto spawned = Spawn(spawn);
    if (!spawned.ok()) {
      return OnHealthResult(task_id, seq, false,
                            absl::StrCat("health command: ", spawned.status().message()));
    }
    const pid_t pid = *spawned;
    h.check_pid = pid;
    health_check_by_pid_[pid] = task_id;
    h.timer = loop_.After(c.timeout, [this, task_id, seq, pid] {
      ::kill(-pid, SIGKILL);
      health_check_by_pid_.erase(pid);  // its exit means nothing now
      auto t = tasks_.find(task_id);
      if (t == tasks_.end() || t->second.health == nullptr) return;
      t->second.health->check_pid = -1;
      OnHealthResult(task_id, seq, false,
                     absl::StrCat("health command timed out after ",
                                  absl::FormatDuration(t->second.health->check.timeout)));
    });
    return;
  }
  if (prober_ == nullptr) prober_ = std::make_unique<Prober>();
  prober_->Probe({c.kind == HealthCheck::Kind::kHttp, c.port, c.path, c.timeout,
                  [this, task_id, seq](ProbeResult r) {
                    loop_.Post([this, task_id, seq, r] { OnHealthResult(task_id, seq, r.ok, r.detail); });
                  }});
}

void Executor::OnHealthResult(const std::string& task_id, uint64_t seq, bool ok,
                              const std::string& detail) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.health == nullptr) return;
  Health& h = *it->second.health;
  if (seq != h.seq || it->second.kill_requested) return;  // stale, or the task is going
  std::optional<bool> verdict = h.healthy;
  if (ok) {
    h.failures = 0;
    h.succeeded_once = true;
    verdict = true;
  } else if (h.succeeded_once || loop_.Now() - h.started >= h.check.grace_period) {
    if (++h.failures >= h.check.max_failures) verdict = false;
  }
  if (verdict != h.healthy) {
    h.healthy = verdict;
    AGORA_LOG(INFO, "executor") << "task " << task_id << (*verdict ? " healthy: " : " unhealthy: ")
                                << detail;
    Report(task_id, TaskState::kRunning,
           *verdict ? absl::StrCat("healthy (", detail, ")")
                    : absl::StrCat("unhealthy after ", h.failures, " failed checks (", detail, ")"),
           "health_check", 0, verdict);
  }
  ScheduleHealthCheck(it->second, h.check.interval);
}

void Executor::StopHealthCheck(Task& task) {
  if (task.health == nullptr) return;
  loop_.Cancel(task.health->timer);
  if (task.health->check_pid > 0) ::kill(-task.health->check_pid, SIGKILL);
  task.health.reset();
}

}  // namespace agora::agent
