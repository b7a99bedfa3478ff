#include "tools/output.h"

#include <cstdlib>
#include <iostream>

#include <yaml-cpp/yaml.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/json_text.h"

namespace agora::tools {
namespace {

OutputFormat format = OutputFormat::kTable;  // set once by main, before any output

void EmitYaml(YAML::Emitter& out, const nlohmann::json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, value] : j.items()) {
      out << YAML::Key << key << YAML::Value;
      EmitYaml(out, value);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const nlohmann::json& value : j) EmitYaml(out, value);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    out << YAML::DoubleQuoted << j.get<std::string>();
  } else if (j.is_number_float()) {
    out << absl::StrFormat("%.15g", j.get<double>());
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << JsonText(j);  // integers and booleans read the same in YAML
  }
}

// `j` with every float rounded to 15 significant digits: 0.1 + 0.2 reads
// 0.3, not 0.30000000000000004 (a sum of cpus the master made).
nlohmann::json Rounded(nlohmann::json j) {
  if (j.is_structured()) {
    for (auto& value : j) value = Rounded(std::move(value));
  } else if (j.is_number_float()) {
    j = std::strtod(absl::StrFormat("%.15g", j.get<double>()).c_str(), nullptr);
  }
  return j;
}

}  // namespace

bool SetOutputFormat(absl::string_view name) {
  if (name == "table") format = OutputFormat::kTable;
  else if (name == "wide") format = OutputFormat::kWide;
  else if (name == "json") format = OutputFormat::kJson;
  else if (name == "yaml") format = OutputFormat::kYaml;
  else return false;
  return true;
}

OutputFormat GetOutputFormat() { return format; }

std::string OutputFormatInArgs(int argc, char** argv) {
  std::string found = "table";
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;  // `agora run -- CMD`: the command's own arguments
    if (arg == "--json") {
      found = "json";
    } else if ((arg == "-o" || arg == "--output") && i + 1 < argc) {
      found = argv[++i];
    } else if (absl::StartsWith(arg, "--output=")) {
      found = std::string(arg.substr(9));
    } else if (absl::StartsWith(arg, "-o") && arg.size() > 2) {
      found = std::string(arg.substr(arg[2] == '=' ? 3 : 2));
    }
  }
  return found;
}

bool Structured() { return format == OutputFormat::kJson || format == OutputFormat::kYaml; }

void PrintData(const nlohmann::json& data) {
  if (format == OutputFormat::kYaml) {
    YAML::Emitter out;
    EmitYaml(out, data);
    std::cout << out.c_str() << "\n";
    return;
  }
  std::cout << JsonText(Rounded(data)) << "\n";
}

void PrintError(absl::string_view command, absl::string_view message) {
  const std::string cmd = command.empty() ? "agora" : absl::StrCat("agora ", command);
  if (!Structured()) {
    std::cerr << cmd << ": " << message << "\n";
    return;
  }
  const nlohmann::json error = {{"error", {{"command", cmd}, {"message", std::string(message)}}}};
  if (format == OutputFormat::kYaml) {
    YAML::Emitter out;
    EmitYaml(out, error);
    std::cerr << out.c_str() << "\n";
  } else {
    std::cerr << JsonText(error) << "\n";
  }
}

}  // namespace agora::tools
