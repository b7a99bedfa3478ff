// `agora logs TASK` and `agora job logs JOB`: a task's stdout or stderr, read
// from its sandbox through the agent that ran it (the agent's HTTP endpoint,
// which it announced to the master).
#pragma once

#include <string>

#include "frameworks/sdk/master_client.h"

namespace agora::tools {

struct LogsArgs {
  std::string task_id;
  std::string framework_id;  // needed when several frameworks use the id
  std::string agent_id;      // skips the lookup when known
  bool stderr_file = false;
  bool follow = false;  // keep printing until the task ends
  int tail = -1;        // only the last N lines; -1: everything
};

// Returns the exit code: 0 printed, 1 not found or unreachable.
int PrintLogs(sdk::MasterClient& master, LogsArgs args);

}  // namespace agora::tools
