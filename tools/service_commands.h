// `agora service deploy|update|list|show|endpoints|scale|delete|history`:
// agora-services' API, found through the master.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/time/time.h"
#include "common/curve.h"

namespace agora::tools {

struct ServiceArgs {
  std::string master;
  std::optional<CurveClient> curve;  // keys for a secured master
  std::string endpoint;  // --services: the API, skipping the lookup
  bool json = false;
  absl::Duration timeout = absl::Seconds(5);
  absl::Duration wait_timeout = absl::Minutes(10);
  // Filled in by the parser.
  std::string file, name, port;
  std::vector<std::string> names;  // service delete; config set/unset: KEY=VALUE or KEY
  int instances = 0;
  bool wait = false;
};

class FrameworkClient;

// Follows `versions` (name -> version) until each runs its version with every
// instance healthy (0), or one fails (1), printing changes unless `quiet`.
int WaitForDeployment(FrameworkClient& api, const nlohmann::json& versions, absl::Duration timeout, bool quiet);

void AddServiceCommands(CLI::App& app, ServiceArgs* args);

// The exit code of the `service` command that was parsed, or -1 if none.
int RunServiceCommand(CLI::App& app, ServiceArgs& args);

}  // namespace agora::tools
