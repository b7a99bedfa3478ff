// The batch commands of `agora`: `job submit|list|show|kill|retry|watch|
// history`, `queue list|show|set-policy` and `cron list|pause|resume|delete`.
// They speak agora-batch's HTTP API, found through the master.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "absl/time/time.h"
#include "common/curve.h"

namespace agora::tools {

struct BatchArgs {
  std::string master;
  std::optional<CurveClient> curve;  // keys for a secured master
  std::string endpoint;  // --batch: agora-batch's API, skipping the lookup
  bool json = false;
  absl::Duration timeout = absl::Seconds(5);
  // Filled in by the parser.
  std::string file, id, name, run, state, policy;
  bool wait = false;
  double weight = 0, aging = -1, k = 0, x0 = 0;
  bool stderr_file = false, follow = false;
  int tail = -1;
};

// Adds the `job`, `queue` and `cron` subcommands to `app`, parsing into `*args`.
void AddBatchCommands(CLI::App& app, BatchArgs* args);

// Runs the batch command that was parsed, if any: the exit code, or -1 when
// the command line named none of them.
int RunBatchCommand(CLI::App& app, BatchArgs& args);

}  // namespace agora::tools
