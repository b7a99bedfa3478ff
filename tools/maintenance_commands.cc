#include "tools/maintenance_commands.h"
#include "common/json_text.h"

#include <algorithm>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/cli.h"
#include "common/role_options.h"
#include "tools/framework_client.h"
#include "tools/output.h"
#include "tools/output.h"

namespace agora::tools {
namespace {

using nlohmann::json;

// The agent's row in `agents`, by id or hostname; empty when not there.
json AgentRow(sdk::MasterClient& master, const std::string& agent) {
  auto text = master.Query("agents");
  if (!text.ok()) return json::object();
  json rows = json::parse(*text, nullptr, false);
  if (!rows.is_array()) return json::object();
  for (const json& a : rows) {
    if (a.value("id", "") == agent || (a.value("hostname", "") == agent && a.value("state", "") != "gone")) return a;
  }
  return json::object();
}

int SetRole(sdk::MasterClient& master, const MaintenanceArgs& a) {
  if (a.weight == 0 && a.quota.empty() && !a.no_quota) {
    std::cerr << "agora role set: nothing to set: give --weight, --quota or --no-quota\n";
    return 2;
  }
  std::optional<Resources> quota;
  if (!a.quota.empty()) {
    auto parsed = ParseQuota(a.quota);
    if (!parsed.ok()) {
      std::cerr << "agora role set: --quota: " << parsed.status().message() << "\n";
      return 2;
    }
    quota = *parsed;
  }
  // A role no framework uses and nobody configured is most likely a typo: it
  // is created only when asked to.
  std::vector<std::string> known;
  if (auto text = master.Query("roles"); text.ok()) {
    for (const json& r : json::parse(*text, nullptr, false)) {
      if (r.is_object()) known.push_back(r.value("name", ""));
    }
  }
  if (!a.create && std::find(known.begin(), known.end(), a.role) == known.end()) {
    const std::vector<absl::string_view> names(known.begin(), known.end());
    const std::string meant = ClosestMatch(a.role, names);
    PrintError("role set", absl::StrCat("no role '", a.role, "' (no framework uses it, none was set)",
                                        meant.empty() ? "" : absl::StrCat("; did you mean '", meant, "'?"),
                                        " Give --create to make it"));
    return 1;
  }
  if (absl::Status s = master.SetRole(a.role, a.weight, quota, a.no_quota); !s.ok()) {
    return CommandFailed("role set", s);
  }
  json row = json::object();
  if (auto text = master.Query("roles"); text.ok()) {
    for (const json& r : json::parse(*text, nullptr, false)) {
      if (r.is_object() && r.value("name", "") == a.role) row = r;
    }
  }
  if (a.json) {
    PrintData(row);
  } else {
    std::string cap;
    if (row["quota"].is_object()) {
      for (const char* key : {"cpus", "mem", "disk"}) {
        if (row["quota"][key].is_number()) {
          absl::StrAppend(&cap, cap.empty() ? "" : ";", key, ":", row["quota"][key].get<double>());
        }
      }
    }
    std::cout << "role " << a.role << ": weight " << row.value("weight", 1.0) << ", "
              << (cap.empty() ? "no quota" : "quota " + cap) << "\n";
  }
  return 0;
}

}  // namespace

void AddMaintenanceCommands(CLI::App& app, MaintenanceArgs* a) {
  CLI::App* agent = app.add_subcommand("agent", "steer an agent's maintenance");
  agent->require_subcommand(1);
  CLI::App* drain = agent->add_subcommand(
      "drain", "stop offering the agent; its frameworks move their tasks; what is left is killed at the deadline\n"
               "Example: agora agent drain agent3 --deadline 10m --wait");
  drain->add_option("agent", a->agent, "the agent's id or hostname")->required();
  AddDurationFlag(*drain, "--deadline", &a->deadline, "kill what is left after this (default: never)");
  drain->add_flag("--wait", a->wait, "return once the agent is drained (no task left)");
  AddDurationFlag(*drain, "--wait-timeout,--wait_timeout", &a->wait_timeout, "give up waiting after this");
  agent->add_subcommand("undrain", "put a draining or drained agent back in service\nExample: agora agent undrain agent3")
      ->add_option("agent", a->agent, "the agent's id or hostname")
      ->required();
  agent->add_subcommand("gone", "declare an unreachable or drained agent gone for good: its tasks are GONE, and it "
                                "may not come back with its id\nExample: agora agent gone a-3f09c1d2e4b5")
      ->add_option("agent", a->agent, "the agent's id or hostname")
      ->required();
  CLI::App* framework = app.add_subcommand("framework", "act on one framework");
  framework->require_subcommand(1);
  framework->add_subcommand("teardown", "remove a framework: its tasks are killed and it may not re-subscribe\n"
                                        "Example: agora framework teardown f-3f09c1d2e4b5")
      ->add_option("id", a->framework_id, "the framework id")
      ->required();
  CLI::App* role = app.add_subcommand("role", "steer a role (see `agora roles`)");
  role->require_subcommand(1);
  CLI::App* set = role->add_subcommand(
      "set", "set a role's DRF weight and quota cap; kept by the master across restarts, and "
             "winning over its --weights and --quota\n"
             "Example: agora role set services --weight 3 --quota 'cpus:8;mem:16384'");
  set->add_option("role", a->role, "the role")->required();
  set->add_option("--weight", a->weight, "its DRF weight (a positive number)")
      ->check(CLI::PositiveNumber);
  CLI::Option* quota = set->add_option(
      "--quota", a->quota, "caps what its frameworks hold: cpus, mem, disk (those not named are not capped)");
  set->add_flag("--no-quota,--no_quota", a->no_quota, "removes its cap")->excludes(quota);
  set->add_flag("--create", a->create, "set it although no framework uses the role yet");
}

int RunMaintenanceCommand(CLI::App& app, sdk::MasterClient& master, MaintenanceArgs& a) {
  if (CLI::App* framework = app.get_subcommand("framework"); framework->parsed()) {
    if (absl::Status s = master.Teardown(a.framework_id); !s.ok()) return CommandFailed("framework teardown", s);
    if (a.json) {
      PrintData(json{{"framework_id", a.framework_id}, {"torn_down", true}});
    } else {
      std::cout << "framework " << a.framework_id << " torn down; its tasks are being killed\n";
    }
    return 0;
  }
  if (CLI::App* role = app.get_subcommand("role"); role->parsed()) return SetRole(master, a);
  CLI::App* agent = app.get_subcommand("agent");
  if (!agent->parsed()) return -1;
  const std::string verb = agent->get_subcommands().front()->get_name();
  if (absl::Status s = master.AgentAction(a.agent, verb, a.deadline); !s.ok()) return CommandFailed("agent " + verb, s);
  if (verb == "drain" && a.wait) {
    const absl::Time give_up = absl::Now() + a.wait_timeout;
    while (AgentRow(master, a.agent).value("state", "") != "drained") {
      if (absl::Now() > give_up) {
        std::cerr << "agora agent drain: " << a.agent << " is not drained after "
                  << absl::FormatDuration(a.wait_timeout) << "\n";
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  const json row = AgentRow(master, a.agent);
  if (a.json) {
    PrintData(row);
  } else {
    std::cout << "agent " << a.agent << ": " << row.value("state", "gone") << "\n";
  }
  return 0;
}

}  // namespace agora::tools
