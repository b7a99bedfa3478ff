// `agora keys generate NAME --dir DIR [--kind K] [--roles R,...]`: a CurveZMQ
// key pair for a master, an agent, a framework or an operator (common/curve.h
// has the file formats). Needs no master.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace agora::tools {

struct KeysArgs {
  std::string name;
  std::string dir = ".";
  std::string kind = "any";
  std::string roles = "*";
};

// Adds `keys generate`; returns the `keys` command (parsed() when it ran).
CLI::App* AddKeysCommands(CLI::App& app, KeysArgs* args);
// Writes DIR/NAME.key and DIR/NAME.pub; exit code 0, 1 (cannot write) or 2.
int GenerateKeys(const KeysArgs& args);

}  // namespace agora::tools
