// How `agora` prints what it got and what went wrong: `-o table` (the
// default: a table fit to the terminal, ids never cut), `-o wide` (nothing
// cut), `-o json` (or --json) and `-o yaml`. Under json and yaml, errors are
// structured too: {"error": {"command": ..., "message": ...}} on stderr.
// The format is the process's, set once by main from the command line.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/string_view.h"

namespace agora::tools {

enum class OutputFormat { kTable, kWide, kJson, kYaml };

// "table", "wide", "json" or "yaml"; false for anything else.
bool SetOutputFormat(absl::string_view name);
OutputFormat GetOutputFormat();
// The format argv asks for (--json, -o F, -oF, -o=F, --output F,
// --output=F; the last wins; none after a bare "--"), or "table".
std::string OutputFormatInArgs(int argc, char** argv);
// JSON or YAML: data, not a table.
bool Structured();

// `data` in the structured format (JSON on one line, or a YAML document),
// then a newline, on stdout; floats to 15 significant digits (no 0.1 + 0.2
// noise).
void PrintData(const nlohmann::json& data);
// "agora COMMAND: MESSAGE" on stderr, or its structured form.
void PrintError(absl::string_view command, absl::string_view message);

}  // namespace agora::tools
