// What a task's processes use, read from /proc: the fallback for tasks
// without cgroup accounting. A task runs in its own process group (its
// leader's pid), so its processes are those of that group.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "absl/container/flat_hash_map.h"

namespace agora::agent {

struct ProcessUsage {
  double cpu_seconds = 0;  // user + system, so far
  uint64_t rss_bytes = 0;  // resident now
};

// One pass over /proc: the summed usage of every process group with a
// process alive now.
absl::flat_hash_map<pid_t, ProcessUsage> UsageByProcessGroup();

// A task's cpu use as a rate: cpu-seconds per second between two samples
// (0 for the first, or when time did not move).
class CpuRate {
 public:
  double Update(double cpu_seconds, double now_seconds);
  bool first() const { return last_cpu_ < 0; }

 private:
  double last_cpu_ = -1, last_time_ = 0;
};

}  // namespace agora::agent
