// BatchFramework is agora-batch's scheduler: it holds every run and job,
// moves jobs through their states (waiting on dependencies -> pending in a
// queue -> running -> succeeded | failed | killed | timed_out, with retrying
// and preempted in between), places them on offers, and persists every
// change before it acts on it or acknowledges it.
//
// Events drive everything; nothing rescans: a finished job wakes only its
// dependants, a decision looks only at queue heads, and each retry, timeout
// and schedule has its own timer.
//
// Failure behaviour:
//  - agora-batch killed at any point: restarted on the same --work_dir it
//    reloads its store, re-subscribes with its framework id and reconciles;
//    a task it launched is either reported by the master (and followed), or
//    declared lost by it, and only then launched again; an update it had
//    not acknowledged is delivered again by the agent.
//  - an agent lost or unreachable: its running jobs go back to their queue
//    (a lost attempt does not count against `retries`); an update that
//    later arrives from a superseded attempt gets that attempt killed, so a
//    job never runs twice.
//  - the master away: the driver re-subscribes; nothing here is lost.
//
// Lives on the driver's loop thread; not thread-safe. Owns no I/O but the
// store it is given and the driver it is attached to.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "common/sqlite_kv.h"
#include "frameworks/batch/batch_records.h"
#include "frameworks/batch/job_queues.h"
#include "frameworks/batch/placement.h"
#include "agora/sdk/scheduler_driver.h"

namespace agora::batch {

struct BatchOptions {
  Placement placement = Placement::kBinPack;
  // How long a job may stay on an unreachable agent before it runs elsewhere.
  absl::Duration unreachable_grace = absl::Seconds(30);
  // Give up on a job whose attempts keep getting lost (agents dying under it).
  int max_lost_attempts = 10;
  // A run whose jobs are all final is forgotten (records and store) this
  // long after its last job ended; zero keeps runs forever.
  absl::Duration retention = absl::Hours(24 * 7);
  // What one submission may ask for (arrays, tasks per run).
  SpecLimits limits;
};

struct SubmitResult {
  std::string run_id;
  std::vector<std::string> job_ids;
  std::string cron;  // set when the file was a schedule rather than a run
};

class BatchFramework final : public sdk::Scheduler {
 public:
  BatchFramework(SqliteKv& store, BatchOptions options);

  // Loads every record from the store. Call once, before Attach().
  absl::Status Recover();
  // The framework id the store remembers, empty on the first start.
  std::string StoredFrameworkId();
  // Connects to the driver: from here on timers run on its loop.
  void Attach(sdk::SchedulerDriver& driver);

  // --- The API (loop thread). Errors are InvalidArgument / NotFound /
  // FailedPrecondition with a message for the user.
  absl::StatusOr<SubmitResult> Submit(const std::string& yaml,
                                      const std::vector<Resources>& agents);
  absl::Status KillJob(const std::string& job_id);
  absl::Status KillRun(const std::string& run_id);
  absl::Status RetryJob(const std::string& job_id);
  absl::Status SetQueue(const QueueConfig& config);
  absl::Status PauseCron(const std::string& name, bool paused);
  absl::Status DeleteCron(const std::string& name);

  // --- Reads for the API, as JSON.
  nlohmann::json JobsJson(const std::string& run_id, const std::string& name,
                          const std::string& state) const;
  absl::StatusOr<nlohmann::json> JobJson(const std::string& job_id) const;
  // With `with_jobs`, every job's row too (a watcher polling counts skips them).
  absl::StatusOr<nlohmann::json> RunJson(const std::string& run_id, bool with_jobs = true) const;
  nlohmann::json RunsJson() const;
  nlohmann::json QueuesJson() const;
  nlohmann::json CronsJson() const;
  nlohmann::json StateJson() const;  // counts, for /state and `agora status`
  std::string MetricsText() const;   // Prometheus text format, for /metrics

  // --- sdk::Scheduler.
  void Subscribed(sdk::SchedulerDriver& driver, const std::string& framework_id) override;
  void Offers(sdk::SchedulerDriver& driver, const std::vector<sdk::Offer>& offers) override;
  void Update(sdk::SchedulerDriver& driver, const TaskStatus& status) override;
  // Jobs there that would not finish by the deadline (by their estimate) are
  // killed now and queued again, to run elsewhere; the others finish. Any job
  // killed on a draining agent (the master kills what is left at the
  // deadline) is queued again without spending a retry.
  void AgentDraining(sdk::SchedulerDriver& driver, const std::string& agent_id, absl::Time deadline) override;
  void AgentLost(sdk::SchedulerDriver& driver, const std::string& agent_id) override;
  bool WantsOffers() const override { return queues_.waiting() > 0; }
  void Checkpoint(sdk::SchedulerDriver& driver) override { Flush(); }

 private:
  // State changes. Save marks a job changed; Flush writes every changed
  // record in one transaction (at the end of each loop turn, and before a
  // launch is sent).
  void Save(const JobRecord& job) { dirty_jobs_.insert(job.id); }
  void Flush();
  void Enqueue(JobRecord& job, JobState state);
  void OnJobFinal(JobRecord& job);
  void ResolveDependant(JobRecord& job);
  int CountUnresolved(const JobRecord& job) const;
  void Unblock(const JobRecord& job);
  // The jobs of `run_id` made from the spec job `name` (several for an array).
  std::vector<std::string> Elements(const RunRecord& run, const std::string& name) const;
  void FailAttempt(JobRecord& job, const TaskStatus& status);
  void Requeue(JobRecord& job, const std::string& why);
  void StartTimeout(JobRecord& job);
  void ScheduleRetry(JobRecord& job);
  void ArmRetry(JobRecord& job);  // a timer that requeues it at retry_at
  void CancelTimer(const std::string& job_id);
  void KillTask(JobRecord& job);
  void TryPreempt(const QueuedJob& head);
  void ReconcileActive();
  QueuedJob ToQueued(const JobRecord& job) const;
  const JobSpec& Spec(const JobRecord& job) const;
  TaskSpec ToTask(JobRecord& job) const;
  absl::Time Now() const { return driver_->Now(); }

  // Runs and schedules.
  absl::StatusOr<std::string> StartRun(const WorkflowSpec& spec, const std::string& yaml,
                                       const std::string& cron);
  // Adds the run's jobs to the dependency graph and queues those ready.
  void IndexRun(RunRecord& run);
  void ArmCron(CronRecord& cron);
  void FireCron(const std::string& name);
  bool RunActive(const std::string& run_id) const;
  void SaveCron(const CronRecord& cron);
  // Forgets the runs finished more than options_.retention ago.
  void RemoveExpiredRuns();
  void ForgetRun(const std::string& run_id);

  SqliteKv& store_;
  BatchOptions options_;
  sdk::SchedulerDriver* driver_ = nullptr;
  JobQueues queues_;
  absl::flat_hash_map<std::string, RunRecord> runs_;
  absl::flat_hash_map<std::string, JobRecord> jobs_;
  absl::flat_hash_set<std::string> dirty_jobs_;  // changed since the last Flush
  absl::flat_hash_map<std::string, std::string> job_of_task_;  // current attempts only
  // Dependency graph, per job: who waits on it, and how many of its own
  // dependencies are not final yet.
  absl::flat_hash_map<std::string, std::vector<std::string>> dependants_;
  absl::flat_hash_map<std::string, int> unresolved_;
  absl::flat_hash_map<std::string, EventLoop::TimerId> job_timers_;
  absl::flat_hash_map<std::string, CronRecord> crons_;
  absl::flat_hash_map<std::string, EventLoop::TimerId> cron_timers_;
  // SRTF: a preemption under way, per queue (the victim's job id).
  absl::flat_hash_map<std::string, std::string> preempting_;
  // Agents being drained (until they offer again), with their deadlines.
  absl::flat_hash_map<std::string, absl::Time> draining_agents_;
  // Job name -> (sum of seconds, count) of successful runs: SJF's fallback.
  absl::flat_hash_map<std::string, std::pair<double, int>> durations_;
  uint64_t launched_ = 0;
  uint64_t preemptions_ = 0;
  uint64_t runs_removed_ = 0;
};

}  // namespace agora::batch
