// `agora run`: a small framework on the SDK (like mesos-execute) that
// launches N copies of a command, prints their state changes, waits for all
// of them, and tears itself down.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/curve.h"
#include "agora/resources.h"

namespace agora::tools {

struct RunOptions {
  std::string master;
  std::optional<CurveClient> curve;  // keys for a secured master
  absl::Duration request_timeout = absl::Seconds(5);  // for the master's first answer
  std::string name = "run";
  std::string role = "*";
  std::string user;     // empty: the agent's --task_user
  std::string command;  // run by /bin/sh -c
  Resources resources = Resources::Scalars(0.1, 32, 0);
  int instances = 1;
  absl::Duration timeout = absl::ZeroDuration();  // zero: none
  bool json = false;
};

// Joins argv for `/bin/sh -c`: a single argument is taken as shell text,
// several are quoted so each stays one word.
std::string ShellJoin(const std::vector<std::string>& args);

// Returns 0 iff every copy finished with exit status 0; 1 otherwise; 130 when
// interrupted (the tasks are killed).
int RunCommand(const RunOptions& options);

}  // namespace agora::tools
