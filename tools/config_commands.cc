#include "tools/config_commands.h"
#include "common/json_text.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/cli.h"
#include "tools/framework_client.h"
#include "tools/output.h"
#include "tools/table.h"

namespace agora::tools {

using nlohmann::json;

void AddConfigCommands(CLI::App& app, ServiceArgs* a) {
  CLI::App* config = app.add_subcommand(
      "config", "a service's versioned configuration: its environment and the sandbox file config.json");
  config->require_subcommand(1);
  config->add_option("--services", a->endpoint, "agora-services' API URL (default: ask the master)")
      ->envname("AGORA_SERVICES");
  CLI::App* set = config->add_subcommand(
      "set", "set keys: a new version, rolled like any update\nExample: agora config set web LOG_LEVEL=debug --wait");
  set->add_option("name", a->name, "the service")->required();
  set->add_option("pairs", a->names, "KEY=VALUE ...")->required();
  set->add_flag("--wait", a->wait, "follow the rollout until every instance is healthy");
  CLI::App* unset = config->add_subcommand(
      "unset", "remove keys: a new version, rolled like any update\nExample: agora config unset web LOG_LEVEL");
  unset->add_option("name", a->name, "the service")->required();
  unset->add_option("keys", a->names, "KEY ...")->required();
  unset->add_flag("--wait", a->wait, "follow the rollout until every instance is healthy");
  for (CLI::App* cmd : {set, unset}) {
    AddDurationFlag(*cmd, "--wait-timeout,--wait_timeout", &a->wait_timeout, "give up waiting after this");
  }
  CLI::App* get = config->add_subcommand(
      "get", "a service's config, of its current version or another\nExample: agora config get web --version 2");
  get->add_option("name", a->name, "the service")->required();
  get->add_option("--version", a->instances, "the version (default: the current)")->check(CLI::PositiveNumber);
  config->add_subcommand("history", "the versions that changed a service's config\nExample: agora config history web")
      ->add_option("name", a->name, "the service")
      ->required();
}

int RunConfigCommand(CLI::App& app, ServiceArgs& a) {
  CLI::App* config = app.get_subcommand("config");
  if (!config->parsed()) return -1;
  const std::string verb = config->get_subcommands().front()->get_name();
  const std::string what = "config " + verb;
  sdk::MasterClient master(a.master, a.timeout, a.curve);
  FrameworkClient api(master, "agora-services", a.endpoint, a.timeout);
  if (verb == "set" || verb == "unset") {
    json body = {{"set", json::object()}, {"unset", json::array()}};
    for (const std::string& arg : a.names) {
      if (verb == "unset") {
        body["unset"].push_back(arg);
        continue;
      }
      const size_t eq = arg.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "agora config set: '" << arg << "' is not KEY=VALUE\n";
        return 2;
      }
      body["set"][arg.substr(0, eq)] = arg.substr(eq + 1);
    }
    auto r = api.Call("POST", "/v1/config/" + a.name, JsonText(body));
    if (!r.ok()) return CommandFailed(what, r.status());
    if (a.json) {
      PrintData(*r);
    } else {
      std::cout << a.name << ": config is v" << (*r)["version"].get<int>() << "\n";
    }
    return a.wait ? WaitForDeployment(api, json{{a.name, (*r)["version"]}}, a.wait_timeout, a.json) : 0;
  }
  if (verb == "get") {
    std::string path = "/v1/config/" + a.name;
    if (a.instances > 0) path += "?version=" + std::to_string(a.instances);
    return PrintResult(what, api.Call("GET", path), a.json, [](const json& c) {
      for (const auto& [key, value] : c["config"].items()) std::cout << key << "=" << value.get<std::string>() << "\n";
    });
  }
  return PrintResult(what, api.Call("GET", "/v1/config/" + a.name + "/history"), a.json, [](const json& rows) {
    Table t({"VERSION", "CREATED", "CHANGED", "CONFIG"});
    for (const json& v : rows) {
      std::vector<std::string> pairs;
      for (const auto& [key, value] : v["config"].items()) pairs.push_back(key + "=" + value.get<std::string>());
      t.AddRow({absl::StrCat("v", v["version"].get<int>()), v["created_at"],
                absl::StrJoin(v["changed"].get<std::vector<std::string>>(), ","), absl::StrJoin(pairs, " ")});
    }
    t.Print(std::cout);
  });
}

}  // namespace agora::tools
