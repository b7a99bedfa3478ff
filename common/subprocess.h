// Runs a helper program to completion (a configuration check, a daemon that
// forks itself away), with a clean slate: signals unblocked and at their
// defaults, no inherited descriptors beyond stdin, stdout and stderr, its own
// session, and its output in a file.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agora {

struct CommandResult {
  int wait_status = 0;  // as waitpid() gives it
  std::string output;   // stdout and stderr, at most 64 KiB
  bool ok() const;      // exited with status 0
};

// Runs argv[0] (looked up in PATH) and waits for it; killed (SIGKILL) after
// `timeout`. Error only when it could not be run or waited for.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& output_path,
                                         absl::Duration timeout);

}  // namespace agora
