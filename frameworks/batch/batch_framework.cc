// BatchFramework, part one: offers, placement, status updates, retries,
// timeouts and preemption. Runs, dependencies, schedules and recovery are in
// batch_runs.cc.
#include "frameworks/batch/batch_framework.h"
#include "common/json_text.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace agora::batch {

namespace {
// SJF's estimate for a job with neither `estimated_duration` nor history.
constexpr absl::Duration kUnknownEstimate = absl::Minutes(10);
}  // namespace

BatchFramework::BatchFramework(SqliteKv& store, BatchOptions options)
    : store_(store), options_(options) {}

const JobSpec& BatchFramework::Spec(const JobRecord& job) const {
  return runs_.at(job.run_id).spec.jobs.at(job.spec_index);
}

void BatchFramework::Flush() {
  for (const std::string& id : dirty_jobs_) store_.Put("job", id, JsonText(StoreJson(jobs_.at(id))));
  dirty_jobs_.clear();
  // A store that cannot write leaves the changes buffered; the next flush
  // retries them. Acting on unpersisted state could run a job twice after a
  // crash, but stopping the framework would stall every job: we log loudly.
  if (absl::Status s = store_.Flush(); !s.ok()) {
    AGORA_LOG(ERROR, "batch") << "store write failed (will retry): " << s.message();
  }
}

QueuedJob BatchFramework::ToQueued(const JobRecord& job) const {
  const JobSpec& spec = Spec(job);
  absl::Duration estimate = kUnknownEstimate;
  if (job.remaining > absl::ZeroDuration()) {
    estimate = job.remaining;  // what a preempted job had left
  } else if (spec.estimated_duration) {
    estimate = *spec.estimated_duration;
  } else if (auto h = durations_.find(spec.name); h != durations_.end() && h->second.second > 0) {
    estimate = absl::Seconds(h->second.first / h->second.second);
  }
  return QueuedJob{job.id, spec.queue, spec.resources, spec.priority, estimate, job.submitted_at,
                   spec.preemptible};
}

TaskSpec BatchFramework::ToTask(JobRecord& job) const {
  const JobSpec& spec = Spec(job);
  TaskSpec task;
  task.task_id = job.task_id;
  task.name = spec.name;
  task.command = spec.command;
  task.resources = spec.resources;
  task.env = spec.env;
  task.env.emplace_back("AGORA_JOB_ID", job.id);
  task.env.emplace_back("AGORA_RUN_ID", job.run_id);
  task.env.emplace_back("AGORA_ATTEMPT", absl::StrCat(job.attempts));
  if (job.array_index >= 0) task.env.emplace_back("AGORA_ARRAY_INDEX", absl::StrCat(job.array_index));
  return task;
}

void BatchFramework::Enqueue(JobRecord& job, JobState state) {
  job.state = state;
  queues_.Push(ToQueued(job));
  Save(job);
}

void BatchFramework::Offers(sdk::SchedulerDriver& driver, const std::vector<sdk::Offer>& offers) {
  std::vector<AgentSlot> slots;
  for (const sdk::Offer& o : offers) {
    auto it = std::find_if(slots.begin(), slots.end(),
                           [&](const AgentSlot& s) { return s.agent_id == o.agent_id; });
    draining_agents_.erase(o.agent_id);  // offered again: back in service
    if (it == slots.end()) it = slots.insert(slots.end(), AgentSlot{o.agent_id, {}, {}, o.hostname});
    it->offer_ids.push_back(o.id);
    it->available += o.resources;
  }
  std::vector<std::vector<TaskSpec>> planned(slots.size());
  absl::flat_hash_set<std::string> blocked;  // queues whose head fits nowhere
  const absl::Time now = Now();
  for (;;) {
    const QueuedJob* head = nullptr;
    for (const QueuedJob* h : queues_.Heads()) {
      if (!blocked.contains(h->queue)) {
        head = h;
        break;
      }
    }
    if (head == nullptr) break;
    int slot = Place(slots, head->ask, options_.placement);
    if (slot < 0) {
      blocked.insert(head->queue);
      TryPreempt(*head);
      continue;
    }
    QueuedJob queued = queues_.Pop(head->queue);
    JobRecord& job = jobs_.at(queued.id);
    job.attempts++;
    job.task_id = absl::StrCat(job.id, ".", job.attempts);
    job.state = JobState::kRunning;
    job.agent_id = slots[slot].agent_id;
    job.hostname = slots[slot].hostname;
    job.started_at = absl::InfinitePast();
    job.message = "launching";
    job_of_task_[job.task_id] = job.id;
    queues_.OnStarted(queued, now + queued.estimate);
    Save(job);
    planned[slot].push_back(ToTask(job));
    slots[slot].available -= queued.ask;
  }
  Flush();  // every launch is on disk before the master hears of it
  for (size_t i = 0; i < slots.size(); ++i) {
    if (planned[i].empty()) continue;
    launched_ += planned[i].size();
    driver.Launch(slots[i].offer_ids, planned[i]);
  }
}

void BatchFramework::TryPreempt(const QueuedJob& head) {
  if (preempting_.contains(head.queue)) return;  // one at a time per queue
  std::optional<std::string> victim = queues_.PreemptionVictim(head, Now());
  if (!victim) return;
  JobRecord& job = jobs_.at(*victim);
  job.preempting = true;
  job.remaining = queues_.Remaining(job.id, Now());
  job.message = absl::StrCat("preempted for ", head.id, " (", absl::FormatDuration(head.estimate),
                             " < ", absl::FormatDuration(job.remaining), " remaining)");
  preempting_[head.queue] = job.id;
  Save(job);
  KillTask(job);
  AGORA_LOG(INFO, "batch").With("job", job.id) << "preempting " << job.id << " for " << head.id;
}

void BatchFramework::AgentDraining(sdk::SchedulerDriver& driver, const std::string& agent_id,
                                   absl::Time deadline) {
  draining_agents_[agent_id] = deadline;
  for (const auto& [task_id, job_id] : job_of_task_) {
    JobRecord& job = jobs_.at(job_id);
    if (job.agent_id != agent_id || job.kill_requested || job.preempting) continue;
    if (Now() + queues_.Remaining(job.id, Now()) <= deadline) continue;  // it finishes in time
    AGORA_LOG(INFO, "batch").With("job", job.id).With("agent", agent_id)
        << job.id << " would not finish before agent " << agent_id << " is drained: moving it";
    KillTask(job);
  }
}

void BatchFramework::KillTask(JobRecord& job) {
  if (driver_ != nullptr && !job.task_id.empty()) driver_->Kill(job.task_id);
}

void BatchFramework::Update(sdk::SchedulerDriver& driver, const TaskStatus& status) {
  auto owner = job_of_task_.find(status.task_id);
  if (owner == job_of_task_.end()) {
    // An attempt we gave up on (lost, then found again) or a stale task:
    // it must not run beside its replacement.
    if (!IsTerminal(status.state) && status.state != TaskState::kUnreachable &&
        status.state != TaskState::kKilling) {
      AGORA_LOG(WARNING, "batch").With("task", status.task_id)
          << "killing superseded task " << status.task_id;
      driver.Kill(status.task_id);
    }
    return;
  }
  JobRecord& job = jobs_.at(owner->second);
  const absl::Time now = Now();
  switch (status.state) {
    case TaskState::kStaging:
    case TaskState::kStarting:
    case TaskState::kKilling:
      return;
    case TaskState::kRunning:
      if (job.agent_id != status.agent_id) job.hostname.clear();  // known from offers only
      job.agent_id = status.agent_id;
      if (job.started_at == absl::InfinitePast()) {
        job.started_at = now;
        job.message = "";
        StartTimeout(job);
      }
      break;
    case TaskState::kFinished:
      CancelTimer(job.id);
      queues_.OnStopped(job.id);
      job_of_task_.erase(owner);
      job.exit_code = 0;
      job.finished_at = now;
      if (job.started_at == absl::InfinitePast()) job.started_at = now;
      job.state = JobState::kSucceeded;
      job.message = "";
      {
        auto& [sum, n] = durations_[Spec(job).name];
        sum += absl::ToDoubleSeconds(job.finished_at - job.started_at);
        ++n;
      }
      OnJobFinal(job);
      break;
    case TaskState::kFailed:
    case TaskState::kError:
      FailAttempt(job, status);
      break;
    case TaskState::kKilled:
      CancelTimer(job.id);
      queues_.OnStopped(job.id);
      job_of_task_.erase(owner);
      job.finished_at = now;
      if (job.preempting) {
        job.preempting = false;
        job.preemptions++;
        ++preemptions_;
        preempting_.erase(Spec(job).queue);
        Enqueue(job, JobState::kPreempted);
        break;
      }
      if (!job.kill_requested && !job.timed_out && draining_agents_.contains(job.agent_id)) {
        job.message = absl::StrCat("moved off agent ", job.agent_id, ", which is being drained");
        Enqueue(job, JobState::kPreempted);
        break;
      }
      job.state = job.timed_out ? JobState::kTimedOut : JobState::kKilled;
      if (!job.timed_out && !job.kill_requested) job.message = "killed outside agora-batch: " + status.message;
      OnJobFinal(job);
      break;
    case TaskState::kLost:
    case TaskState::kDropped:
    case TaskState::kGone:
    case TaskState::kUnreachable:
      Requeue(job, absl::StrCat("attempt ", job.attempts, " ", TaskStateName(status.state), ": ",
                                status.message));
      break;
  }
  Save(job);  // written by Checkpoint(), before the update is acknowledged
}

void BatchFramework::FailAttempt(JobRecord& job, const TaskStatus& status) {
  CancelTimer(job.id);
  queues_.OnStopped(job.id);
  job_of_task_.erase(job.task_id);
  job.exit_code = status.exit_code;
  job.finished_at = Now();
  job.failures++;
  job.message = status.message.empty() ? absl::StrCat("exit code ", status.exit_code) : status.message;
  if (job.preempting) preempting_.erase(Spec(job).queue);
  job.preempting = false;
  if (!job.kill_requested && job.failures <= Spec(job).retries) return ScheduleRetry(job);
  job.state = job.kill_requested ? JobState::kKilled : JobState::kFailed;
  OnJobFinal(job);
}

void BatchFramework::Requeue(JobRecord& job, const std::string& why) {
  CancelTimer(job.id);
  queues_.OnStopped(job.id);
  job_of_task_.erase(job.task_id);
  job.lost++;
  job.message = why;
  if (job.preempting) preempting_.erase(Spec(job).queue);
  job.preempting = false;
  if (job.kill_requested) {
    job.state = JobState::kKilled;
    job.finished_at = Now();
    return OnJobFinal(job);
  }
  if (job.lost > options_.max_lost_attempts) {
    job.state = JobState::kFailed;
    job.finished_at = Now();
    job.message = absl::StrCat("gave up after ", job.lost, " lost attempts; last: ", why);
    return OnJobFinal(job);
  }
  AGORA_LOG(INFO, "batch").With("job", job.id) << "requeueing " << job.id << ": " << why;
  Enqueue(job, JobState::kPending);
}

void BatchFramework::AgentLost(sdk::SchedulerDriver& driver, const std::string& agent_id) {
  // The master also sends each task's UNREACHABLE/LOST update; those requeue.
  AGORA_LOG(INFO, "batch") << "agent " << agent_id << " lost";
}

void BatchFramework::ScheduleRetry(JobRecord& job) {
  const JobSpec& spec = Spec(job);
  absl::Duration delay = spec.backoff * std::pow(2.0, std::min(job.failures - 1, 30));
  delay = std::min(delay, spec.max_backoff);
  job.state = JobState::kRetrying;
  job.retry_at = Now() + delay;
  job.message = absl::StrCat(job.message, "; retry ", job.failures, " of ", spec.retries, " in ",
                             absl::FormatDuration(delay));
  Save(job);
  ArmRetry(job);
}

void BatchFramework::ArmRetry(JobRecord& job) {
  const std::string id = job.id;
  job_timers_[id] = driver_->After(std::max(absl::ZeroDuration(), job.retry_at - Now()),
                                          [this, id] {
                                            job_timers_.erase(id);
                                            JobRecord& j = jobs_.at(id);
                                            if (j.state != JobState::kRetrying) return;
                                            Enqueue(j, JobState::kPending);
                                            Flush();
                                            driver_->WantsOffersChanged();
                                          });
}

void BatchFramework::StartTimeout(JobRecord& job) {
  const absl::Duration timeout = Spec(job).timeout;
  if (timeout <= absl::ZeroDuration() || job.started_at == absl::InfinitePast()) return;
  CancelTimer(job.id);
  const std::string id = job.id, task = job.task_id;
  job_timers_[id] = driver_->After(
      std::max(absl::ZeroDuration(), job.started_at + timeout - Now()), [this, id, task, timeout] {
        job_timers_.erase(id);
        JobRecord& j = jobs_.at(id);
        if (j.state != JobState::kRunning || j.task_id != task) return;
        j.timed_out = true;
        j.message = absl::StrCat("timed out after ", absl::FormatDuration(timeout));
        Save(j);
        Flush();
        KillTask(j);
      });
}

void BatchFramework::CancelTimer(const std::string& job_id) {
  auto it = job_timers_.find(job_id);
  if (it == job_timers_.end()) return;
  if (driver_ != nullptr) driver_->Cancel(it->second);
  job_timers_.erase(it);
}

void BatchFramework::Subscribed(sdk::SchedulerDriver& driver, const std::string& framework_id) {
  store_.Put("meta", "framework_id", framework_id);
  Flush();
  ReconcileActive();
}

void BatchFramework::ReconcileActive() {
  // The driver reconciles implicitly (what the master knows); asking for our
  // running attempts by id also reports those the master never heard of, as
  // LOST, so they run again.
  std::vector<std::string> ids;
  for (const auto& [task, job] : job_of_task_) ids.push_back(task);
  if (!ids.empty() && driver_ != nullptr) driver_->Reconcile(ids);
}

}  // namespace agora::batch
