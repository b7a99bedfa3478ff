// ProcessLauncher is the agent's seam for starting executors: the real one
// forks and execs (in a new session, with stdout and stderr to a log file);
// fuzzers and tests put in one that starts nothing. Agent loop only.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace agora::agent {

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // Starts argv[0] with `argv`; the pid of the new process.
  virtual absl::StatusOr<pid_t> Launch(const std::vector<std::string>& argv,
                                       const std::string& log_path) = 0;
};

// fork + setsid + exec, output appended to `log_path`.
std::unique_ptr<ProcessLauncher> NewForkExecLauncher();

}  // namespace agora::agent
