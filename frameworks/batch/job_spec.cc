#include "frameworks/batch/job_spec.h"

#include <functional>
#include <set>


#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "frameworks/batch/cron.h"
#include "common/status.h"
#include "frameworks/spec/dag.h"
#include "frameworks/spec/fits.h"
#include "frameworks/spec/yaml_fields.h"

namespace agora::batch {
namespace {

using spec::CheckKeys;
using spec::Invalid;
using spec::ParseResources;
using spec::UnknownField;

absl::Status ParseDependency(const YAML::Node& n, const std::string& field, Dependency* out) {
  if (n.IsScalar()) {
    out->job = n.Scalar();
    return absl::OkStatus();
  }
  if (!n.IsMap()) return Invalid(field, "expected a job name or {job: NAME, on: success|failure|any}");
  if (absl::Status s = CheckKeys(n, field, {"job", "on"}); !s.ok()) return s;
  if (!n["job"] || !n["job"].IsScalar()) return Invalid(field + ".job", "required");
  out->job = n["job"].Scalar();
  if (n["on"]) {
    std::string on = n["on"].Scalar();
    if (on == "success") out->on = DependencyCondition::kSuccess;
    else if (on == "failure") out->on = DependencyCondition::kFailure;
    else if (on == "any") out->on = DependencyCondition::kAny;
    else return Invalid(field + ".on", absl::StrCat("'", on, "' is not one of success, failure, any"));
  }
  return absl::OkStatus();
}

absl::Status ParseSchedule(const YAML::Node& n, const std::string& prefix, Schedule* out) {
  auto field = [&](absl::string_view key) { return absl::StrCat(prefix, key); };
  if (!n["schedule"].IsScalar()) return Invalid(field("schedule"), "expected a cron string");
  out->cron = n["schedule"].Scalar();
  if (auto c = CronSchedule::Parse(out->cron); !c.ok()) {
    return Invalid(field("schedule"), c.status().message());
  }
  if (n["time_zone"]) {
    out->time_zone = n["time_zone"].Scalar();
    if (auto tz = LoadZone(out->time_zone); !tz.ok()) {
      return Invalid(field("time_zone"), tz.status().message());
    }
  }
  if (n["concurrency"]) {
    std::string c = n["concurrency"].Scalar();
    if (c == "allow") out->concurrency = Concurrency::kAllow;
    else if (c == "forbid") out->concurrency = Concurrency::kForbid;
    else if (c == "replace") out->concurrency = Concurrency::kReplace;
    else return Invalid(field("concurrency"), absl::StrCat("'", c, "' is not one of allow, forbid, replace"));
  }
  if (n["missed"]) {
    std::string m = n["missed"].Scalar();
    if (m == "run_once") out->missed = MissedRuns::kRunOnce;
    else if (m == "skip") out->missed = MissedRuns::kSkip;
    else return Invalid(field("missed"), absl::StrCat("'", m, "' is not one of run_once, skip"));
  }
  return absl::OkStatus();
}

constexpr std::initializer_list<absl::string_view> kJobFields = {
    "name", "command", "resources", "queue", "priority", "estimated_duration", "retries",
    "backoff", "max_backoff", "timeout", "depends_on", "array", "env", "preemptible"};
constexpr std::initializer_list<absl::string_view> kScheduleFields = {
    "schedule", "time_zone", "concurrency", "missed"};

absl::Status ParseJob(const YAML::Node& n, const std::string& where, JobSpec* job) {
  auto field = [&](absl::string_view key) {
    return where.empty() ? std::string(key) : absl::StrCat(where, ".", key);
  };
  if (!n["name"] || !n["name"].IsScalar()) return Invalid(field("name"), "required");
  job->name = n["name"].Scalar();
  if (absl::Status s = ValidatePathSafeId("name", job->name); !s.ok()) {
    return Invalid(field("name"), s.message());
  }
  auto command = spec::Command(n["command"], field("command"));
  if (!command.ok()) return command.status();
  job->command = *std::move(command);
  if (n["resources"]) {
    if (absl::Status s = ParseResources(n["resources"], field("resources"), &job->resources); !s.ok()) return s;
  }
  if (n["queue"]) {
    job->queue = n["queue"].Scalar();
    if (absl::Status s = ValidatePathSafeId("queue", job->queue); !s.ok()) {
      return Invalid(field("queue"), s.message());
    }
  }
  if (n["priority"]) {
    auto p = spec::Scalar<double>(n["priority"], field("priority"));
    if (!p.ok()) return p.status();
    job->priority = *p;
  }
  struct DurationField {
    const char* key;
    absl::Duration* out;
  };
  absl::Duration estimate = absl::ZeroDuration();
  for (DurationField d : {DurationField{"estimated_duration", &estimate}, {"backoff", &job->backoff},
                          {"max_backoff", &job->max_backoff}, {"timeout", &job->timeout}}) {
    if (!n[d.key]) continue;
    auto v = spec::Duration(n[d.key], field(d.key));
    if (!v.ok()) return v.status();
    *d.out = *v;
  }
  if (n["estimated_duration"]) job->estimated_duration = estimate;
  if (n["retries"]) {
    auto v = spec::Scalar<int>(n["retries"], field("retries"));
    if (!v.ok()) return v.status();
    if (*v < 0 || *v > 1000) return Invalid(field("retries"), "must be between 0 and 1000");
    job->retries = *v;
  }
  if (n["array"]) {
    auto v = spec::Scalar<int>(n["array"], field("array"));
    if (!v.ok()) return v.status();
    if (*v < 1 || *v > 10000000) return Invalid(field("array"), "must be between 1 and 10000000");
    job->array = *v;
  }
  if (n["preemptible"]) {
    auto v = spec::Scalar<bool>(n["preemptible"], field("preemptible"));
    if (!v.ok()) return v.status();
    job->preemptible = *v;
  }
  if (n["env"]) {
    if (absl::Status s = spec::ParseEnv(n["env"], field("env"), &job->env); !s.ok()) return s;
  }
  if (n["depends_on"]) {
    const YAML::Node& deps = n["depends_on"];
    if (!deps.IsSequence()) return Invalid(field("depends_on"), "expected a list");
    for (size_t i = 0; i < deps.size(); ++i) {
      Dependency d;
      if (absl::Status s = ParseDependency(deps[i], absl::StrCat(field("depends_on"), "[", i, "]"), &d);
          !s.ok()) {
        return s;
      }
      job->depends_on.push_back(std::move(d));
    }
  }
  return absl::OkStatus();
}

std::vector<spec::DagNode> Dag(const WorkflowSpec& wf) {
  std::vector<spec::DagNode> nodes;
  for (const JobSpec& job : wf.jobs) {
    spec::DagNode node{job.name, {}};
    for (const Dependency& d : job.depends_on) node.depends_on.push_back(d.job);
    nodes.push_back(std::move(node));
  }
  return nodes;
}

// Unknown dependencies, self-dependencies and cycles, each named.
absl::Status CheckGraph(const WorkflowSpec& wf) {
  absl::flat_hash_map<std::string, int> index;
  for (size_t i = 0; i < wf.jobs.size(); ++i) {
    if (!index.emplace(wf.jobs[i].name, i).second) {
      return Invalid(absl::StrCat("jobs[", i, "].name"),
                     absl::StrCat("'", wf.jobs[i].name, "' is used by two jobs"));
    }
  }
  for (size_t i = 0; i < wf.jobs.size(); ++i) {
    for (size_t d = 0; d < wf.jobs[i].depends_on.size(); ++d) {
      const std::string& dep = wf.jobs[i].depends_on[d].job;
      std::string field = absl::StrCat("jobs[", i, "].depends_on[", d, "]");
      if (!index.contains(dep)) return Invalid(field, absl::StrCat("unknown job '", dep, "'"));
      if (dep == wf.jobs[i].name) return Invalid(field, "a job cannot depend on itself");
    }
  }
  return spec::CheckAcyclic(Dag(wf), [](int i) { return absl::StrCat("jobs[", i, "].depends_on"); });
}

absl::StatusOr<WorkflowSpec> ParseNode(const YAML::Node& root) {
  if (!root.IsMap()) return absl::InvalidArgumentError("a job file holds a map: one job, or `jobs: [...]`");
  WorkflowSpec wf;
  const bool has_schedule = static_cast<bool>(root["schedule"]);
  if (root["jobs"]) {
    std::vector<absl::string_view> top = {"jobs", "name"};
    top.insert(top.end(), kScheduleFields);
    for (const auto& kv : root) {
      std::string key = kv.first.Scalar();
      if (std::find(top.begin(), top.end(), key) == top.end()) {
        return Invalid(key, absl::StrCat(UnknownField(key, top), " beside `jobs`"));
      }
    }
    const YAML::Node& jobs = root["jobs"];
    if (!jobs.IsSequence() || jobs.size() == 0) return Invalid("jobs", "expected a non-empty list");
    for (size_t i = 0; i < jobs.size(); ++i) {
      std::string where = absl::StrCat("jobs[", i, "]");
      if (!jobs[i].IsMap()) return Invalid(where, "expected a job");
      if (jobs[i]["schedule"]) {
        return Invalid(where + ".schedule",
                       "a workflow's schedule goes at the top of the file, beside `jobs`");
      }
      if (absl::Status s = CheckKeys(jobs[i], where, kJobFields); !s.ok()) return s;
      JobSpec job;
      if (absl::Status s = ParseJob(jobs[i], where, &job); !s.ok()) return s;
      wf.jobs.push_back(std::move(job));
    }
    if (root["name"]) wf.name = root["name"].Scalar();
    if (has_schedule && wf.name.empty()) return Invalid("name", "a scheduled workflow needs a name");
    if (wf.name.empty()) wf.name = wf.jobs.front().name;
    if (absl::Status s = ValidatePathSafeId("name", wf.name); !s.ok()) return Invalid("name", s.message());
  } else {
    std::vector<absl::string_view> allowed(kJobFields);
    allowed.insert(allowed.end(), kScheduleFields);
    for (const auto& kv : root) {
      std::string key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        return Invalid(key, UnknownField(key, allowed));
      }
    }
    JobSpec job;
    if (absl::Status s = ParseJob(root, "", &job); !s.ok()) return s;
    wf.name = job.name;
    wf.jobs.push_back(std::move(job));
  }
  if (has_schedule) {
    Schedule schedule;
    if (absl::Status s = ParseSchedule(root, "", &schedule); !s.ok()) return s;
    wf.schedule = schedule;
  } else {
    for (absl::string_view key : {"time_zone", "concurrency", "missed"}) {
      if (root[std::string(key)]) return Invalid(key, "only meaningful with `schedule`");
    }
  }
  if (absl::Status s = CheckGraph(wf); !s.ok()) return s;
  return wf;
}

}  // namespace

absl::string_view ConditionName(DependencyCondition c) {
  switch (c) {
    case DependencyCondition::kSuccess: return "success";
    case DependencyCondition::kFailure: return "failure";
    case DependencyCondition::kAny: return "any";
  }
  return "?";
}

absl::string_view ConcurrencyName(Concurrency c) {
  switch (c) {
    case Concurrency::kAllow: return "allow";
    case Concurrency::kForbid: return "forbid";
    case Concurrency::kReplace: return "replace";
  }
  return "?";
}

absl::string_view MissedRunsName(MissedRuns m) {
  return m == MissedRuns::kSkip ? "skip" : "run_once";
}

absl::StatusOr<WorkflowSpec> ParseWorkflow(absl::string_view yaml, const SpecLimits& limits) {
  auto root = spec::LoadYaml(yaml);
  if (!root.ok()) return root.status();
  absl::StatusOr<WorkflowSpec> wf;
  try {
    wf = ParseNode(*root);
  } catch (const YAML::Exception& e) {  // e.g. a key that is not a scalar
    return absl::InvalidArgumentError(absl::StrCat("malformed job file: ", e.what()));
  }
  if (!wf.ok()) return spec::Located(*root, wf.status());
  int64_t tasks = 0;
  for (size_t i = 0; i < wf->jobs.size(); ++i) {
    const JobSpec& job = wf->jobs[i];
    const std::string where = wf->jobs.size() == 1 && !(*root)["jobs"] ? "array" : absl::StrCat("jobs[", i, "].array");
    if (job.array > limits.max_array_size) {
      return spec::Located(*root, Invalid(where, absl::StrCat(job.array, " tasks; an array may have at most ",
                                                              limits.max_array_size, " (--max-array-size)")));
    }
    tasks += std::max(job.array, 1);
  }
  if (tasks > limits.max_tasks_per_run) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the file asks for ", tasks, " tasks in one run; at most ", limits.max_tasks_per_run,
        " (--max-tasks-per-run)"));
  }
  return wf;
}

std::vector<int> TopologicalOrder(const WorkflowSpec& wf) { return spec::DependenciesFirst(Dag(wf)); }

absl::Status CheckFits(const WorkflowSpec& wf, const std::vector<Resources>& agents) {
  for (size_t i = 0; i < wf.jobs.size(); ++i) {
    AGORA_RETURN_IF_ERROR(
        spec::CheckSomeAgentHolds(wf.jobs[i].resources, agents, absl::StrCat("jobs[", i, "].resources")));
  }
  return absl::OkStatus();
}

}  // namespace agora::batch
