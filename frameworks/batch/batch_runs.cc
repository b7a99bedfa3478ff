// BatchFramework, part two: submissions, the dependency graph, kills and
// retries asked for by users, schedules, and recovery from the store.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/json_text.h"
#include "common/ids.h"
#include "common/status.h"
#include "common/log.h"
#include "frameworks/batch/batch_framework.h"
#include "frameworks/batch/cron.h"

namespace agora::batch {

using nlohmann::json;

namespace {

std::string JobId(const std::string& run_id, const JobSpec& spec, int index) {
  return index < 0 ? absl::StrCat(run_id, ".", spec.name)
                   : absl::StrCat(run_id, ".", spec.name, ".", index);
}

bool Satisfied(DependencyCondition on, JobState state) {
  switch (on) {
    case DependencyCondition::kSuccess: return state == JobState::kSucceeded;
    case DependencyCondition::kFailure: return state != JobState::kSucceeded;
    case DependencyCondition::kAny: return true;
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------- submission

absl::StatusOr<SubmitResult> BatchFramework::Submit(const std::string& yaml,
                                                    const std::vector<Resources>& agents) {
  auto spec = ParseWorkflow(yaml, options_.limits);
  if (!spec.ok()) return spec.status();
  if (absl::Status s = CheckFits(*spec, agents); !s.ok()) return s;
  SubmitResult result;
  if (spec->schedule) {
    CronRecord& cron = crons_[spec->name];
    const bool replaced = !cron.name.empty();
    if (auto t = cron_timers_.find(spec->name); t != cron_timers_.end()) {
      driver_->Cancel(t->second);
      cron_timers_.erase(t);
    }
    cron.name = spec->name;
    cron.yaml = yaml;
    cron.spec = *spec;
    auto tz = LoadZone(spec->schedule->time_zone);
    cron.next_fire = CronSchedule::Parse(spec->schedule->cron)->Next(Now(), *tz);
    SaveCron(cron);
    ArmCron(cron);
    Flush();
    AGORA_LOG(INFO, "batch") << (replaced ? "replaced" : "added") << " schedule " << cron.name;
    result.cron = cron.name;
    return result;
  }
  AGORA_ASSIGN_OR_RETURN(result.run_id, StartRun(*spec, yaml, ""));
  result.job_ids = runs_.at(result.run_id).job_ids;
  Flush();
  driver_->WantsOffersChanged();
  return result;
}

absl::StatusOr<std::string> BatchFramework::StartRun(const WorkflowSpec& spec,
                                                     const std::string& yaml,
                                                     const std::string& cron) {
  RunRecord run;
  run.id = NewId("r");
  run.name = spec.name;
  run.yaml = yaml;
  run.cron = cron;
  run.submitted_at = Now();
  run.spec = spec;
  for (size_t i = 0; i < spec.jobs.size(); ++i) {
    const int n = spec.jobs[i].array;
    for (int k = n > 0 ? 0 : -1; k < std::max(n, 0); ++k) {
      JobRecord job;
      job.id = JobId(run.id, spec.jobs[i], k);
      job.run_id = run.id;
      job.spec_index = static_cast<int>(i);
      job.array_index = k;
      job.submitted_at = run.submitted_at;
      job.state = JobState::kWaiting;
      run.job_ids.push_back(job.id);
      Save(job);
      jobs_.emplace(job.id, std::move(job));
    }
  }
  store_.Put("run", run.id, JsonText(StoreJson(run)));
  const std::string id = run.id;
  RunRecord& stored = runs_.emplace(id, std::move(run)).first->second;
  AGORA_LOG(INFO, "batch") << "run " << id << " (" << stored.name << "): "
                           << stored.job_ids.size() << " jobs";
  IndexRun(stored);
  return id;
}

std::vector<std::string> BatchFramework::Elements(const RunRecord& run,
                                                  const std::string& name) const {
  std::vector<std::string> ids;
  for (const JobSpec& spec : run.spec.jobs) {
    if (spec.name != name) continue;
    if (spec.array == 0) ids.push_back(JobId(run.id, spec, -1));
    for (int k = 0; k < spec.array; ++k) ids.push_back(JobId(run.id, spec, k));
  }
  return ids;
}

int BatchFramework::CountUnresolved(const JobRecord& job) const {
  const RunRecord& run = runs_.at(job.run_id);
  int n = 0;
  for (const Dependency& d : Spec(job).depends_on) {
    for (const std::string& e : Elements(run, d.job)) n += IsFinal(jobs_.at(e).state) ? 0 : 1;
  }
  return n;
}

void BatchFramework::IndexRun(RunRecord& run) {
  for (const std::string& id : run.job_ids) {
    const JobRecord& job = jobs_.at(id);
    for (const Dependency& d : Spec(job).depends_on) {
      for (const std::string& e : Elements(run, d.job)) dependants_[e].push_back(id);
    }
    unresolved_[id] = CountUnresolved(job);
  }
  // Jobs whose dependencies are all final go on now, in file order.
  for (const std::string& id : run.job_ids) {
    JobRecord& job = jobs_.at(id);
    if (job.state == JobState::kWaiting && unresolved_[id] == 0) ResolveDependant(job);
  }
}

void BatchFramework::ResolveDependant(JobRecord& job) {
  const RunRecord& run = runs_.at(job.run_id);
  for (const Dependency& d : Spec(job).depends_on) {
    for (const std::string& e : Elements(run, d.job)) {
      const JobRecord& dep = jobs_.at(e);
      if (Satisfied(d.on, dep.state)) continue;
      job.state = JobState::kFailed;
      job.finished_at = Now();
      job.message = absl::StrCat("not run: dependency ", dep.id, " ended ",
                                 JobStateName(dep.state), " (needed: ", ConditionName(d.on), ")");
      Save(job);
      return OnJobFinal(job);
    }
  }
  job.message = "";
  Enqueue(job, JobState::kPending);
}

void BatchFramework::OnJobFinal(JobRecord& job) {
  CancelTimer(job.id);
  Save(job);
  AGORA_LOG(DEBUG, "batch").With("job", job.id)
      << job.id << " " << JobStateName(job.state) << " " << job.message;
  auto it = dependants_.find(job.id);
  if (it == dependants_.end()) return;
  for (const std::string& id : it->second) {
    JobRecord& dependant = jobs_.at(id);
    if (--unresolved_[id] == 0 && dependant.state == JobState::kWaiting) ResolveDependant(dependant);
  }
}

// ---------------------------------------------------------------- user actions

absl::Status BatchFramework::KillJob(const std::string& job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job '", job_id, "'"));
  JobRecord& job = it->second;
  if (IsFinal(job.state)) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " already ended: ", JobStateName(job.state)));
  }
  job.kill_requested = true;
  if (job.state == JobState::kRunning) {
    job.message = "kill requested";
    Save(job);
    Flush();
    KillTask(job);
    return absl::OkStatus();
  }
  queues_.Remove(job.id);
  job.state = JobState::kKilled;
  job.finished_at = Now();
  job.message = "killed before it ran";
  OnJobFinal(job);
  Flush();
  driver_->WantsOffersChanged();
  return absl::OkStatus();
}

absl::Status BatchFramework::KillRun(const std::string& run_id) {
  auto run = runs_.find(run_id);
  if (run == runs_.end()) return absl::NotFoundError(absl::StrCat("no run '", run_id, "'"));
  // Dependants first, so killing a job does not start jobs that wait on it.
  std::vector<std::string> ids(run->second.job_ids.rbegin(), run->second.job_ids.rend());
  for (const std::string& id : ids) {
    if (!IsFinal(jobs_.at(id).state)) KillJob(id).IgnoreError();
  }
  return absl::OkStatus();
}

absl::Status BatchFramework::RetryJob(const std::string& job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job '", job_id, "'"));
  JobRecord& job = it->second;
  if (!IsFinal(job.state) || job.state == JobState::kSucceeded) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " is ", JobStateName(job.state), "; only failed, killed or timed out jobs are retried"));
  }
  if (job.state == JobState::kFailed && job.attempts == 0) {
    // It never ran because a dependency ended wrong: retry that one instead.
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " never ran (", job.message,
                                                      "); retry the dependency"));
  }
  job.failures = 0;
  job.exit_code.reset();
  job.kill_requested = job.timed_out = false;
  job.finished_at = absl::InfinitePast();
  job.message = "retried by a user";
  Unblock(job);
  Enqueue(job, JobState::kPending);
  Flush();
  driver_->WantsOffersChanged();
  return absl::OkStatus();
}

void BatchFramework::Unblock(const JobRecord& retried) {
  // Dependants that never ran because `retried` failed wait for it again.
  std::vector<std::string> frontier = {retried.id};
  while (!frontier.empty()) {
    std::string id = frontier.back();
    frontier.pop_back();
    for (const std::string& d : dependants_[id]) {
      JobRecord& dep = jobs_.at(d);
      if (dep.state != JobState::kFailed || dep.attempts > 0) continue;
      dep.state = JobState::kWaiting;
      dep.finished_at = absl::InfinitePast();
      dep.message = "";
      Save(dep);
      frontier.push_back(d);
    }
  }
  // Recount after every state above changed (the retried job is not final now).
  frontier = {retried.id};
  absl::flat_hash_set<std::string> seen;
  while (!frontier.empty()) {
    std::string id = frontier.back();
    frontier.pop_back();
    for (const std::string& d : dependants_[id]) {
      JobRecord& dep = jobs_.at(d);
      if (dep.state != JobState::kWaiting || !seen.insert(d).second) continue;
      unresolved_[d] = CountUnresolved(dep);
      frontier.push_back(d);
    }
  }
}

absl::Status BatchFramework::SetQueue(const QueueConfig& config) {
  if (absl::Status s = ValidatePathSafeId("queue", config.name); !s.ok()) return s;
  queues_.Configure(config);
  store_.Put("queue", config.name, JsonText(ToJson(config)));
  Flush();
  return absl::OkStatus();
}

// ---------------------------------------------------------------- schedules

void BatchFramework::SaveCron(const CronRecord& cron) {
  store_.Put("cron", cron.name, JsonText(StoreJson(cron)));
}

void BatchFramework::ArmCron(CronRecord& cron) {
  if (cron.paused || driver_ == nullptr || cron.next_fire == absl::InfiniteFuture()) return;
  const std::string name = cron.name;
  cron_timers_[name] = driver_->After(std::max(absl::ZeroDuration(), cron.next_fire - Now()),
                                             [this, name] {
                                               cron_timers_.erase(name);
                                               FireCron(name);
                                             });
}

bool BatchFramework::RunActive(const std::string& run_id) const {
  auto run = runs_.find(run_id);
  if (run == runs_.end()) return false;
  for (const std::string& id : run->second.job_ids) {
    if (!IsFinal(jobs_.at(id).state)) return true;
  }
  return false;
}

void BatchFramework::FireCron(const std::string& name) {
  auto it = crons_.find(name);
  if (it == crons_.end() || it->second.paused) return;
  CronRecord& cron = it->second;
  const Schedule& schedule = *cron.spec.schedule;
  const absl::Time now = Now();
  cron.last_fire = now;
  const bool active = RunActive(cron.last_run_id);
  if (active && schedule.concurrency == Concurrency::kForbid) {
    cron.skipped++;
    AGORA_LOG(INFO, "batch") << "schedule " << name << ": run " << cron.last_run_id
                             << " still active, firing skipped (concurrency: forbid)";
  } else {
    if (active && schedule.concurrency == Concurrency::kReplace) KillRun(cron.last_run_id).IgnoreError();
    WorkflowSpec spec = cron.spec;
    spec.schedule.reset();
    if (auto run = StartRun(spec, cron.yaml, name); run.ok()) cron.last_run_id = *run;
  }
  cron.next_fire = CronSchedule::Parse(schedule.cron)->Next(now, *LoadZone(schedule.time_zone));
  SaveCron(cron);
  ArmCron(cron);
  Flush();
  driver_->WantsOffersChanged();
}

absl::Status BatchFramework::PauseCron(const std::string& name, bool paused) {
  auto it = crons_.find(name);
  if (it == crons_.end()) return absl::NotFoundError(absl::StrCat("no schedule '", name, "'"));
  CronRecord& cron = it->second;
  cron.paused = paused;
  if (auto t = cron_timers_.find(name); t != cron_timers_.end()) {
    driver_->Cancel(t->second);
    cron_timers_.erase(t);
  }
  if (!paused) {
    const Schedule& s = *cron.spec.schedule;
    cron.next_fire = CronSchedule::Parse(s.cron)->Next(Now(), *LoadZone(s.time_zone));
    ArmCron(cron);
  }
  SaveCron(cron);
  Flush();
  return absl::OkStatus();
}

absl::Status BatchFramework::DeleteCron(const std::string& name) {
  auto it = crons_.find(name);
  if (it == crons_.end()) return absl::NotFoundError(absl::StrCat("no schedule '", name, "'"));
  if (auto t = cron_timers_.find(name); t != cron_timers_.end()) {
    driver_->Cancel(t->second);
    cron_timers_.erase(t);
  }
  crons_.erase(it);
  store_.Erase("cron", name);
  Flush();
  return absl::OkStatus();
}

// ---------------------------------------------------------------- recovery

std::string BatchFramework::StoredFrameworkId() {
  auto id = store_.Get("meta", "framework_id");
  return id.ok() && *id ? **id : "";
}

absl::Status BatchFramework::Recover() {
  AGORA_ASSIGN_OR_RETURN(auto queue_rows, store_.LoadAll("queue"));
  for (const auto& [name, text] : queue_rows) {
    auto q = QueueFromJson(json::parse(text, nullptr, false));
    if (!q.ok()) return absl::DataLossError(absl::StrCat("queue ", name, ": ", q.status().message()));
    queues_.Configure(*q);
  }
  AGORA_ASSIGN_OR_RETURN(auto run_rows, store_.LoadAll("run"));
  for (const auto& [id, text] : run_rows) {
    AGORA_ASSIGN_OR_RETURN(RunRecord run, RunFromStore(json::parse(text, nullptr, false)));
    runs_.emplace(id, std::move(run));
  }
  AGORA_ASSIGN_OR_RETURN(auto job_rows, store_.LoadAll("job"));
  for (const auto& [id, text] : job_rows) {
    AGORA_ASSIGN_OR_RETURN(JobRecord job, JobFromStore(json::parse(text, nullptr, false)));
    auto run = runs_.find(job.run_id);
    if (run == runs_.end()) return absl::DataLossError(absl::StrCat("job ", id, ": no run ", job.run_id));
    run->second.job_ids.push_back(id);
    if (job.state == JobState::kSucceeded && job.started_at != absl::InfinitePast()) {
      auto& [sum, n] = durations_[run->second.spec.jobs.at(job.spec_index).name];
      sum += absl::ToDoubleSeconds(job.finished_at - job.started_at);
      ++n;
    }
    jobs_.emplace(id, std::move(job));
  }
  // Rebuild the graph, then the queues in submission order.
  std::vector<RunRecord*> runs;
  for (auto& [id, run] : runs_) runs.push_back(&run);
  std::sort(runs.begin(), runs.end(), [](const RunRecord* a, const RunRecord* b) {
    return std::tie(a->submitted_at, a->id) < std::tie(b->submitted_at, b->id);
  });
  for (RunRecord* run : runs) {
    std::sort(run->job_ids.begin(), run->job_ids.end(), [&](const std::string& a, const std::string& b) {
      const JobRecord &x = jobs_.at(a), &y = jobs_.at(b);
      return std::tie(x.spec_index, x.array_index) < std::tie(y.spec_index, y.array_index);
    });
    for (const std::string& id : run->job_ids) {
      JobRecord& job = jobs_.at(id);
      if (job.state == JobState::kPending || job.state == JobState::kPreempted) {
        queues_.Push(ToQueued(job));
      } else if (job.state == JobState::kRunning) {
        job_of_task_[job.task_id] = id;
        queues_.OnStarted(ToQueued(job), job.started_at + ToQueued(job).estimate);
      }
    }
    IndexRun(*run);
  }
  AGORA_ASSIGN_OR_RETURN(auto cron_rows, store_.LoadAll("cron"));
  for (const auto& [name, text] : cron_rows) {
    AGORA_ASSIGN_OR_RETURN(CronRecord cron, CronFromStore(json::parse(text, nullptr, false)));
    crons_.emplace(name, std::move(cron));
  }
  AGORA_LOG(INFO, "batch") << "recovered " << runs_.size() << " runs, " << jobs_.size()
                           << " jobs (" << queues_.waiting() << " queued, " << job_of_task_.size()
                           << " running), " << crons_.size() << " schedules";
  return absl::OkStatus();
}

void BatchFramework::Attach(sdk::SchedulerDriver& driver) {
  driver_ = &driver;
  const absl::Time now = Now();
  for (auto& [id, job] : jobs_) {
    if (job.state == JobState::kRetrying) {
      ArmRetry(job);
    } else if (job.state == JobState::kRunning) {
      StartTimeout(job);
    }
  }
  for (auto& [name, cron] : crons_) {
    if (cron.paused) continue;
    if (cron.next_fire <= now) {
      const Schedule& s = *cron.spec.schedule;
      if (s.missed == MissedRuns::kRunOnce) {
        const std::string n = name;
        driver.Post([this, n] { FireCron(n); });  // once, however many were missed
        continue;
      }
      cron.next_fire = CronSchedule::Parse(s.cron)->Next(now, *LoadZone(s.time_zone));
      SaveCron(cron);
    }
    ArmCron(cron);
  }
  // The master answers an explicit reconciliation of a task it never heard
  // of only once its agents have had time to re-register: ask again now and
  // then, so an attempt lost with a master failover is found.
  driver.Every(absl::Seconds(30), [this] { ReconcileActive(); });
  if (options_.retention > absl::ZeroDuration()) {
    const absl::Duration period =
        std::clamp(options_.retention / 4, absl::Milliseconds(100), absl::Hours(1));
    driver.Every(period, [this] { RemoveExpiredRuns(); });
  }
  Flush();
}

// ---------------------------------------------------------------- retention

void BatchFramework::RemoveExpiredRuns() {
  // A scan of every job, once per period (at most hourly): cheap next to
  // the work that made the jobs, and nothing to keep up to date.
  const absl::Time cutoff = Now() - options_.retention;
  std::vector<std::string> expired;
  for (const auto& [id, run] : runs_) {
    absl::Time ended = run.submitted_at;
    bool final = true;
    for (const std::string& job_id : run.job_ids) {
      const JobRecord& job = jobs_.at(job_id);
      final = final && IsFinal(job.state);
      if (job.finished_at != absl::InfinitePast()) ended = std::max(ended, job.finished_at);
    }
    if (final && ended <= cutoff) expired.push_back(id);
  }
  if (expired.empty()) return;
  for (const std::string& id : expired) ForgetRun(id);
  AGORA_LOG(INFO, "batch") << "forgot " << expired.size() << " runs finished more than "
                           << absl::FormatDuration(options_.retention) << " ago";
  Flush();
}

void BatchFramework::ForgetRun(const std::string& run_id) {
  auto run = runs_.find(run_id);
  for (const std::string& id : run->second.job_ids) {
    jobs_.erase(id);
    dirty_jobs_.erase(id);
    dependants_.erase(id);
    unresolved_.erase(id);
    store_.Erase("job", id);
  }
  runs_.erase(run);
  store_.Erase("run", run_id);
  ++runs_removed_;
}

}  // namespace agora::batch
