#include "frameworks/batch/batch_records.h"
#include "common/json_text.h"

#include "absl/strings/str_cat.h"

namespace agora::batch {

using nlohmann::json;

namespace {

constexpr absl::string_view kJobStateNames[] = {"pending",   "waiting",   "running",
                                                "retrying",  "preempted", "succeeded",
                                                "failed",    "killed",    "timed_out"};

// Stored times are Unix microseconds; null for the infinities.
json MicrosJson(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return nullptr;
  return absl::ToUnixMicros(t);
}
absl::Time MicrosFrom(const json& j, absl::Time none) {
  return j.is_number() ? absl::FromUnixMicros(j.get<int64_t>()) : none;
}

}  // namespace

absl::string_view JobStateName(JobState s) { return kJobStateNames[static_cast<int>(s)]; }

std::optional<JobState> ParseJobState(absl::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kJobStateNames)); ++i) {
    if (kJobStateNames[i] == name) return static_cast<JobState>(i);
  }
  return std::nullopt;
}

json TimeJson(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return nullptr;
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

json ToJson(const JobRecord& job, const RunRecord& run) {
  const JobSpec& spec = run.spec.jobs.at(job.spec_index);
  json j = {{"id", job.id},
            {"name", spec.name},
            {"run_id", job.run_id},
            {"queue", spec.queue},
            {"priority", spec.priority},
            {"state", JobStateName(job.state)},
            {"attempts", job.attempts},
            {"exit_code", job.exit_code ? json(*job.exit_code) : json(nullptr)},
            {"submitted_at", TimeJson(job.submitted_at)},
            {"started_at", TimeJson(job.started_at)},
            {"finished_at", TimeJson(job.finished_at)},
            {"agent_id", job.agent_id.empty() ? json(nullptr) : json(job.agent_id)},
            {"hostname", job.hostname.empty() ? json(nullptr) : json(job.hostname)},
            {"task_id", job.task_id.empty() ? json(nullptr) : json(job.task_id)},
            {"message", job.message},
            {"preemptions", job.preemptions}};
  if (job.array_index >= 0) j["array_index"] = job.array_index;
  if (job.state == JobState::kRetrying) j["retry_at"] = TimeJson(job.retry_at);
  return j;
}

json ToJson(const RunRecord& run) {
  return {{"id", run.id},
          {"name", run.name},
          {"cron", run.cron.empty() ? json(nullptr) : json(run.cron)},
          {"submitted_at", TimeJson(run.submitted_at)},
          {"jobs", run.job_ids}};
}

json ToJson(const CronRecord& cron) {
  const Schedule& s = *cron.spec.schedule;
  return {{"name", cron.name},
          {"schedule", s.cron},
          {"time_zone", s.time_zone},
          {"concurrency", ConcurrencyName(s.concurrency)},
          {"missed", MissedRunsName(s.missed)},
          {"paused", cron.paused},
          {"last_fire", TimeJson(cron.last_fire)},
          {"next_fire", cron.paused ? json(nullptr) : TimeJson(cron.next_fire)},
          {"last_run_id", cron.last_run_id.empty() ? json(nullptr) : json(cron.last_run_id)},
          {"skipped", cron.skipped}};
}

json ToJson(const QueueConfig& q) {
  return {{"name", q.name},
          {"policy", PolicyName(q.policy)},
          {"weight", q.weight},
          {"logistic_k", q.logistic_k},
          {"logistic_x0", q.logistic_x0},
          {"aging_per_s", q.aging_per_s}};
}

json StoreJson(const JobRecord& job) {
  return {{"id", job.id},
          {"run_id", job.run_id},
          {"spec_index", job.spec_index},
          {"array_index", job.array_index},
          {"state", JobStateName(job.state)},
          {"attempts", job.attempts},
          {"failures", job.failures},
          {"exit_code", job.exit_code ? json(*job.exit_code) : json(nullptr)},
          {"submitted_at", MicrosJson(job.submitted_at)},
          {"started_at", MicrosJson(job.started_at)},
          {"finished_at", MicrosJson(job.finished_at)},
          {"retry_at", MicrosJson(job.retry_at)},
          {"agent_id", job.agent_id},
          {"hostname", job.hostname},
          {"task_id", job.task_id},
          {"message", job.message},
          {"remaining_us", absl::ToInt64Microseconds(job.remaining)},
          {"preemptions", job.preemptions},
          {"lost", job.lost},
          {"kill_requested", job.kill_requested},
          {"timed_out", job.timed_out},
          {"preempting", job.preempting}};
}

absl::StatusOr<JobRecord> JobFromStore(const json& j) {
  JobRecord job;
  try {
    job.id = j.at("id").get<std::string>();
    job.run_id = j.at("run_id").get<std::string>();
    job.spec_index = j.at("spec_index").get<int>();
    job.array_index = j.at("array_index").get<int>();
    auto state = ParseJobState(j.at("state").get<std::string>());
    if (!state) return absl::DataLossError(absl::StrCat("job ", job.id, ": unknown state"));
    job.state = *state;
    job.attempts = j.at("attempts").get<int>();
    job.failures = j.at("failures").get<int>();
    if (j.at("exit_code").is_number()) job.exit_code = j["exit_code"].get<int>();
    job.submitted_at = MicrosFrom(j.at("submitted_at"), absl::UnixEpoch());
    job.started_at = MicrosFrom(j.at("started_at"), absl::InfinitePast());
    job.finished_at = MicrosFrom(j.at("finished_at"), absl::InfinitePast());
    job.retry_at = MicrosFrom(j.at("retry_at"), absl::InfinitePast());
    job.agent_id = j.at("agent_id").get<std::string>();
    job.hostname = j.value("hostname", "");  // absent from stores written before it was kept
    job.task_id = j.at("task_id").get<std::string>();
    job.message = j.at("message").get<std::string>();
    job.remaining = absl::Microseconds(j.at("remaining_us").get<int64_t>());
    job.preemptions = j.at("preemptions").get<int>();
    job.lost = j.at("lost").get<int>();
    job.kill_requested = j.at("kill_requested").get<bool>();
    job.timed_out = j.at("timed_out").get<bool>();
    job.preempting = j.at("preempting").get<bool>();
  } catch (const json::exception& e) {
    return absl::DataLossError(absl::StrCat("job record ", JsonText(j), ": ", e.what()));
  }
  return job;
}

json StoreJson(const RunRecord& run) {
  return {{"id", run.id},
          {"name", run.name},
          {"yaml", run.yaml},
          {"cron", run.cron},
          {"submitted_at", MicrosJson(run.submitted_at)}};
}

absl::StatusOr<RunRecord> RunFromStore(const json& j) {
  RunRecord run;
  try {
    run.id = j.at("id").get<std::string>();
    run.name = j.at("name").get<std::string>();
    run.yaml = j.at("yaml").get<std::string>();
    run.cron = j.at("cron").get<std::string>();
    run.submitted_at = MicrosFrom(j.at("submitted_at"), absl::UnixEpoch());
  } catch (const json::exception& e) {
    return absl::DataLossError(absl::StrCat("run record: ", e.what()));
  }
  auto spec = ParseWorkflow(run.yaml, SpecLimits::Stored());
  if (!spec.ok()) return absl::DataLossError(absl::StrCat("run ", run.id, ": ", spec.status().message()));
  run.spec = *std::move(spec);
  return run;
}

json StoreJson(const CronRecord& cron) {
  return {{"name", cron.name},
          {"yaml", cron.yaml},
          {"paused", cron.paused},
          {"last_fire", MicrosJson(cron.last_fire)},
          {"next_fire", MicrosJson(cron.next_fire)},
          {"last_run_id", cron.last_run_id},
          {"skipped", cron.skipped}};
}

absl::StatusOr<CronRecord> CronFromStore(const json& j) {
  CronRecord cron;
  try {
    cron.name = j.at("name").get<std::string>();
    cron.yaml = j.at("yaml").get<std::string>();
    cron.paused = j.at("paused").get<bool>();
    cron.last_fire = MicrosFrom(j.at("last_fire"), absl::InfinitePast());
    cron.next_fire = MicrosFrom(j.at("next_fire"), absl::InfiniteFuture());
    cron.last_run_id = j.at("last_run_id").get<std::string>();
    cron.skipped = j.at("skipped").get<int>();
  } catch (const json::exception& e) {
    return absl::DataLossError(absl::StrCat("schedule record: ", e.what()));
  }
  auto spec = ParseWorkflow(cron.yaml, SpecLimits::Stored());
  if (!spec.ok() || !spec->schedule) {
    return absl::DataLossError(absl::StrCat("schedule ", cron.name, ": ", spec.status().message()));
  }
  cron.spec = *std::move(spec);
  return cron;
}

absl::StatusOr<QueueConfig> QueueFromJson(const json& j) {
  QueueConfig q;
  try {
    q.name = j.at("name").get<std::string>();
    auto policy = ParsePolicy(j.value("policy", "fcfs"));
    if (!policy.ok()) return policy.status();
    q.policy = *policy;
    q.weight = j.value("weight", q.weight);
    q.logistic_k = j.value("logistic_k", q.logistic_k);
    q.logistic_x0 = j.value("logistic_x0", q.logistic_x0);
    q.aging_per_s = j.value("aging_per_s", q.aging_per_s);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("queue: ", e.what()));
  }
  if (!(q.weight > 0)) return absl::InvalidArgumentError("queue weight must be positive");
  if (!(q.aging_per_s >= 0)) return absl::InvalidArgumentError("queue aging_per_s must be >= 0");
  return q;
}

}  // namespace agora::batch
