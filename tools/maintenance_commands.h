// `agora agent drain|undrain|gone`, `agora framework teardown` and `agora
// role set`: an operator's maintenance of agents, removal of frameworks, and
// say over roles' weights and quotas.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "absl/time/time.h"
#include "frameworks/sdk/master_client.h"

namespace agora::tools {

struct MaintenanceArgs {
  bool json = false;
  std::string agent;         // id or hostname
  std::string framework_id;
  absl::Duration deadline = absl::ZeroDuration();  // drain: zero for none
  bool wait = false;                               // drain: until drained
  absl::Duration wait_timeout = absl::Minutes(10);
  std::string role;
  double weight = 0;  // role set: 0 leaves it
  std::string quota;  // role set: "cpus:8;mem:16384"; empty leaves it
  bool no_quota = false;
  bool create = false;  // role set: a role no framework uses yet
};

void AddMaintenanceCommands(CLI::App& app, MaintenanceArgs* args);

// The exit code of the command that was parsed, or -1 if none.
int RunMaintenanceCommand(CLI::App& app, sdk::MasterClient& master, MaintenanceArgs& args);

}  // namespace agora::tools
