// The records agora-batch keeps, persists and serves: a run (one submission
// of a workflow, or one firing of a schedule), its jobs (an array job is one
// record per element), the recurring schedules, and their JSON forms (the
// API's and the store's). Plain value types.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "frameworks/batch/job_queues.h"
#include "frameworks/batch/job_spec.h"

namespace agora::batch {

// pending: ready, in its queue; waiting: on dependencies; retrying: in its
// backoff after a failure; preempted: stopped for a shorter job, back in its
// queue. The last five are terminal.
enum class JobState {
  kPending,
  kWaiting,
  kRunning,
  kRetrying,
  kPreempted,
  kSucceeded,
  kFailed,
  kKilled,
  kTimedOut,
};
absl::string_view JobStateName(JobState s);
std::optional<JobState> ParseJobState(absl::string_view name);
inline bool IsFinal(JobState s) { return s >= JobState::kSucceeded; }

struct JobRecord {
  std::string id;      // RUN.NAME, or RUN.NAME.INDEX for an array element
  std::string run_id;
  int spec_index = 0;  // into the run's WorkflowSpec::jobs
  int array_index = -1;
  JobState state = JobState::kWaiting;
  int attempts = 0;  // tasks launched
  int failures = 0;  // attempts that failed (retries count against these)
  std::optional<int> exit_code;
  absl::Time submitted_at = absl::UnixEpoch();
  absl::Time started_at = absl::InfinitePast();  // InfinitePast: not yet
  absl::Time finished_at = absl::InfinitePast();
  absl::Time retry_at = absl::InfinitePast();
  std::string agent_id;
  std::string hostname;  // the agent's, when launched; empty if unknown
  std::string task_id;  // the current or last attempt's task
  std::string message;  // why it is in its state, for people
  absl::Duration remaining = absl::ZeroDuration();  // SRTF estimate after a preemption
  int preemptions = 0;
  int lost = 0;                 // attempts lost with their agent
  bool kill_requested = false;  // killed by a user or a replacing cron run
  bool timed_out = false;       // killed by its timeout
  bool preempting = false;      // killed to make room for a shorter job
};

struct RunRecord {
  std::string id;
  std::string name;
  std::string yaml;  // as submitted
  std::string cron;  // the schedule that started it, if any
  absl::Time submitted_at = absl::UnixEpoch();
  std::vector<std::string> job_ids;
  WorkflowSpec spec;  // parsed from yaml; not stored
};

struct CronRecord {
  std::string name;
  std::string yaml;
  bool paused = false;
  absl::Time last_fire = absl::InfinitePast();
  absl::Time next_fire = absl::InfiniteFuture();
  std::string last_run_id;
  int skipped = 0;  // firings skipped by `concurrency: forbid`
  WorkflowSpec spec;  // parsed from yaml; not stored
};

// RFC 3339 in UTC, or null for InfinitePast/InfiniteFuture.
nlohmann::json TimeJson(absl::Time t);

nlohmann::json ToJson(const JobRecord& job, const RunRecord& run);
nlohmann::json ToJson(const RunRecord& run);
nlohmann::json ToJson(const CronRecord& cron);
nlohmann::json ToJson(const QueueConfig& queue);

// The store's forms: lossless, and parse errors name the record.
nlohmann::json StoreJson(const JobRecord& job);
absl::StatusOr<JobRecord> JobFromStore(const nlohmann::json& j);
nlohmann::json StoreJson(const RunRecord& run);
absl::StatusOr<RunRecord> RunFromStore(const nlohmann::json& j);  // spec parsed too
nlohmann::json StoreJson(const CronRecord& cron);
absl::StatusOr<CronRecord> CronFromStore(const nlohmann::json& j);  // spec parsed too
absl::StatusOr<QueueConfig> QueueFromJson(const nlohmann::json& j);

}  // namespace agora::batch
