// The cpu time and resident memory of another process, read from /proc.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agora::loadgen {

struct ProcessSample {
  absl::Duration cpu;  // user + system since the process started
  uint64_t rss_bytes = 0;
  uint64_t peak_rss_bytes = 0;
};

// NotFound when `pid` is not running (or /proc is not readable).
absl::StatusOr<ProcessSample> SampleProcess(int pid);

// Share of one core (100 = one core) that `pid` used between two samples.
double CpuPercent(const ProcessSample& from, const ProcessSample& to, absl::Duration wall);

}  // namespace agora::loadgen
