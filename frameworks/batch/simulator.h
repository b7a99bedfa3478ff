// The policy simulator behind `agora-batch simulate`: replays a trace of jobs
// in virtual time through the framework's own JobQueues on C identical
// one-cpu slots, and reports waiting and turnaround times, makespan and
// utilisation. Estimates are the trace's true durations, so SJF and SRTF see
// what an oracle would. Pure and deterministic.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "frameworks/batch/job_queues.h"

namespace agora::batch {

struct TraceJob {
  double arrival_s = 0;
  double duration_s = 0;
  double cpus = 1;
  double priority = 0;
};

// CSV with the header `arrival,duration,cpus,priority` (seconds). Errors name
// the line.
absl::StatusOr<std::vector<TraceJob>> ParseTrace(absl::string_view csv);

struct SimulationResult {
  size_t jobs = 0;
  size_t preemptions = 0;
  double mean_wait_s = 0;        // time between arrival and finish not running
  double p95_wait_s = 0;
  double mean_turnaround_s = 0;  // arrival to finish
  double makespan_s = 0;         // first arrival to last finish
  double utilization = 0;        // busy slot-seconds / (slots * makespan)
};

// InvalidArgument when a job asks for more cpus than there are slots.
absl::StatusOr<SimulationResult> Simulate(const std::vector<TraceJob>& trace,
                                          const QueueConfig& queue, int slots);

}  // namespace agora::batch
