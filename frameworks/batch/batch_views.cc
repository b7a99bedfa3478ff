// BatchFramework, part three: the JSON views the API serves.
#include <array>

#include "absl/strings/str_cat.h"
#include "common/metrics_writer.h"
#include "frameworks/batch/batch_framework.h"

namespace agora::batch {

using nlohmann::json;

json BatchFramework::JobsJson(const std::string& run_id, const std::string& name,
                              const std::string& state) const {
  std::vector<const JobRecord*> rows;
  auto keep = [&](const JobRecord& job) {
    if (!name.empty() && Spec(job).name != name) return;
    if (!state.empty() && JobStateName(job.state) != state) return;
    rows.push_back(&job);
  };
  if (!run_id.empty()) {
    auto run = runs_.find(run_id);
    if (run != runs_.end()) {
      for (const std::string& id : run->second.job_ids) keep(jobs_.at(id));
    }
  } else {
    for (const auto& [id, job] : jobs_) keep(job);
  }
  std::sort(rows.begin(), rows.end(), [](const JobRecord* a, const JobRecord* b) {
    return std::tie(a->submitted_at, a->run_id, a->spec_index, a->array_index) <
           std::tie(b->submitted_at, b->run_id, b->spec_index, b->array_index);
  });
  json out = json::array();
  for (const JobRecord* job : rows) out.push_back(ToJson(*job, runs_.at(job->run_id)));
  return out;
}

absl::StatusOr<json> BatchFramework::JobJson(const std::string& job_id) const {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job '", job_id, "'"));
  const JobRecord& job = it->second;
  json j = ToJson(job, runs_.at(job.run_id));
  const JobSpec& spec = Spec(job);
  j["command"] = spec.command;
  j["resources"] = {{"cpus", spec.resources.cpus()}, {"mem", spec.resources.mem()},
                    {"disk", spec.resources.disk()}};
  j["retries"] = spec.retries;
  j["failures"] = job.failures;
  j["timeout_s"] = absl::ToDoubleSeconds(spec.timeout);
  json deps = json::array();
  for (const Dependency& d : spec.depends_on) deps.push_back({{"job", d.job}, {"on", ConditionName(d.on)}});
  j["depends_on"] = deps;
  j["framework_id"] = driver_ != nullptr ? driver_->framework_id() : "";
  return j;
}

absl::StatusOr<json> BatchFramework::RunJson(const std::string& run_id, bool with_jobs) const {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return absl::NotFoundError(absl::StrCat("no run '", run_id, "'"));
  json j = ToJson(it->second);
  json counts = json::object();
  bool done = true, ok = true;
  for (const std::string& id : it->second.job_ids) {
    const JobRecord& job = jobs_.at(id);
    counts[std::string(JobStateName(job.state))] = counts.value(std::string(JobStateName(job.state)), 0) + 1;
    done = done && IsFinal(job.state);
    ok = ok && job.state == JobState::kSucceeded;
  }
  j["counts"] = counts;
  j["state"] = !done ? "active" : ok ? "succeeded" : "failed";
  if (with_jobs) j["job_states"] = JobsJson(run_id, "", "");
  return j;
}

json BatchFramework::RunsJson() const {
  std::vector<const RunRecord*> rows;
  for (const auto& [id, run] : runs_) rows.push_back(&run);
  std::sort(rows.begin(), rows.end(), [](const RunRecord* a, const RunRecord* b) {
    return std::tie(a->submitted_at, a->id) < std::tie(b->submitted_at, b->id);
  });
  json out = json::array();
  for (const RunRecord* run : rows) {
    out.push_back(*RunJson(run->id, /*with_jobs=*/false));
  }
  return out;
}

json BatchFramework::QueuesJson() const {
  json out = json::array();
  for (const QueueConfig& q : queues_.Configs()) {
    json j = ToJson(q);
    j["waiting"] = queues_.waiting(q.name);
    j["running_cpus"] = queues_.running_cpus_milli(q.name) / 1000.0;
    out.push_back(std::move(j));
  }
  return out;
}

json BatchFramework::CronsJson() const {
  json out = json::array();
  for (const auto& [name, cron] : crons_) out.push_back(ToJson(cron));
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["name"] < b["name"]; });
  return out;
}

json BatchFramework::StateJson() const {
  json by_state = json::object();
  for (const auto& [id, job] : jobs_) {
    std::string s(JobStateName(job.state));
    by_state[s] = by_state.value(s, 0) + 1;
  }
  return {{"runs", runs_.size()},
          {"jobs", by_state},
          {"queued", queues_.waiting()},
          {"running", job_of_task_.size()},
          {"tasks_launched", launched_},
          {"preemptions", preemptions_},
          {"schedules", crons_.size()}};
}

std::string BatchFramework::MetricsText() const {
  std::array<size_t, static_cast<int>(JobState::kTimedOut) + 1> by_state{};
  for (const auto& [id, job] : jobs_) ++by_state[static_cast<int>(job.state)];
  MetricsWriter w;
  w.Family("agora_batch_jobs", "gauge", "Jobs by state.");
  for (size_t i = 0; i < by_state.size(); ++i) {
    w.Sample("agora_batch_jobs", double(by_state[i]),
             absl::StrCat("state=\"", JobStateName(static_cast<JobState>(i)), "\""));
  }
  w.Family("agora_batch_queue_waiting", "gauge", "Jobs waiting in each queue.");
  for (const QueueConfig& q : queues_.Configs()) {
    w.Sample("agora_batch_queue_waiting", double(queues_.waiting(q.name)),
             absl::StrCat("queue=\"", q.name, "\""));
  }
  w.One("agora_batch_runs", "gauge", "Runs (workflow instances) kept.", double(runs_.size()));
  w.One("agora_batch_schedules", "gauge", "Recurring jobs.", double(crons_.size()));
  w.Counters({{"agora_batch_tasks_launched_total", "Task attempts launched.", launched_},
              {"agora_batch_preemptions_total", "Jobs preempted by SRTF.", preemptions_},
              {"agora_batch_runs_removed_total", "Finished runs forgotten after --retention.",
               runs_removed_}});
  return w.Take();
}

}  // namespace agora::batch
