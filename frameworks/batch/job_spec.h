// JobSpec and WorkflowSpec: what a user submits to agora-batch, parsed from
// YAML and validated whole before anything runs. A file holds one job, or a
// workflow (`jobs: [...]`) whose jobs depend on each other by name. Every
// error names the field it is about ("jobs[2].depends_on[0]: unknown job
// 'extrct'"). Pure functions and value types.
//
// Example:
//   auto wf = ParseWorkflow("name: hello\ncommand: echo hi\n");
//   if (!wf.ok()) std::cerr << wf.status().message();
#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agora/resources.h"
#include "agora/task.h"

namespace agora::batch {

// Slurm's afterok / afternotok / afterany.
enum class DependencyCondition { kSuccess, kFailure, kAny };
absl::string_view ConditionName(DependencyCondition c);

struct Dependency {
  std::string job;
  DependencyCondition on = DependencyCondition::kSuccess;
};

// What a recurring workflow does when its previous run is still active.
enum class Concurrency { kAllow, kForbid, kReplace };
// What happens to fire times missed while agora-batch was down.
enum class MissedRuns { kRunOnce, kSkip };
absl::string_view ConcurrencyName(Concurrency c);
absl::string_view MissedRunsName(MissedRuns m);

struct JobSpec {
  std::string name;
  std::string command;
  Resources resources = Resources::Scalars(0.1, 32, 0);
  std::string queue = "default";
  double priority = 0;
  std::optional<absl::Duration> estimated_duration;
  int retries = 0;
  absl::Duration backoff = absl::Seconds(1);      // doubles per retry ...
  absl::Duration max_backoff = absl::Minutes(5);  // ... up to this
  absl::Duration timeout = absl::ZeroDuration();  // zero: none
  std::vector<Dependency> depends_on;
  int array = 0;  // 0: a single task; N: N tasks with AGORA_ARRAY_INDEX 0..N-1
  Env env;
  bool preemptible = true;  // an SRTF queue may stop it for a shorter job
};

struct Schedule {
  std::string cron;  // 5 fields, validated
  std::string time_zone = "UTC";
  Concurrency concurrency = Concurrency::kAllow;
  MissedRuns missed = MissedRuns::kRunOnce;
};

struct WorkflowSpec {
  std::string name;  // the job's name for a single job; `name:` for a workflow
  std::vector<JobSpec> jobs;  // in file order
  std::optional<Schedule> schedule;
};

// What one submission may ask for (agora-batch --max_array_size,
// --max_tasks_per_run). Slurm's MaxArraySize defaults to 1001 as well.
struct SpecLimits {
  int max_array_size = 1001;
  int64_t max_tasks_per_run = 10000;  // every job, an array counting as its tasks
  // For runs read back from the store: admitted once, under whatever limits held then.
  static SpecLimits Stored() { return {INT_MAX, INT64_MAX}; }
};

// Parses and validates: unknown fields, bad types, non-finite numbers,
// duplicate names, unknown dependencies, cycles, bad cron strings and time
// zones, commands and environments over their bounds (common/task.h) and
// runs over `limits` are InvalidArgument errors naming the field.
absl::StatusOr<WorkflowSpec> ParseWorkflow(absl::string_view yaml, const SpecLimits& limits = {});

// The jobs of `wf` in an order where every job comes after its dependencies
// (stable: file order among independent jobs). Precondition: validated.
std::vector<int> TopologicalOrder(const WorkflowSpec& wf);

// InvalidArgument naming the first job that no agent of `agents` (their
// total resources) could ever hold, e.g. "jobs[1].resources: cpus: asked 64,
// have 8" (measured against the largest agent). No agents: nothing to check.
absl::Status CheckFits(const WorkflowSpec& wf, const std::vector<Resources>& agents);

}  // namespace agora::batch
