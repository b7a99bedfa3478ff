// `agora config set|unset|get|history`: agora-services' config centre. A
// change is a new version of the service, rolled like any update.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/service_commands.h"

namespace agora::tools {

void AddConfigCommands(CLI::App& app, ServiceArgs* args);

// The exit code of the `config` command that was parsed, or -1 if none.
int RunConfigCommand(CLI::App& app, ServiceArgs& args);

}  // namespace agora::tools
