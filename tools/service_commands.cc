#include "tools/service_commands.h"
#include "common/json_text.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/cli.h"
#include "tools/framework_client.h"
#include "tools/output.h"
#include "tools/spec_commands.h"
#include "tools/table.h"

namespace agora::tools {

using nlohmann::json;

int WaitForDeployment(FrameworkClient& api, const json& versions, absl::Duration timeout, bool quiet) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (absl::Now() < deadline) {
    auto list = api.Call("GET", "/v1/services");
    if (!list.ok()) return CommandFailed("service deploy --wait", list.status());
    bool done = true;
    std::vector<std::string> parts;
    for (const json& s : *list) {
      if (!versions.contains(s["name"].get<std::string>())) continue;
      const std::string state = s["state"];
      parts.push_back(absl::StrCat(s["name"].get<std::string>(), " v", s["version"].get<int>(), " ",
                                   s["healthy"].get<int>(), "/", s["instances"].get<int>(), " healthy, ",
                                   state, s["message"].get<std::string>().empty() ? "" : " (" + s["message"].get<std::string>() + ")"));
      if (state == "failed") {
        if (!quiet) std::cout << absl::StrJoin(parts, "; ") << "\n";
        std::string why = s.value("failure", "");
        if (why.empty()) why = s.value("message", "");  // (an agora-services without `failure`)
        std::cerr << "agora service: " << s["name"].get<std::string>() << ": "
                  << (why.empty() ? "its deployment failed" : why) << "\n";
        return 1;
      }
      if (s["version"] != versions[s["name"].get<std::string>()]) {  // rolled back already
        if (!quiet) std::cout << absl::StrJoin(parts, "; ") << "\n";
        std::cerr << "agora service: deployment of " << s["name"].get<std::string>() << " v"
                  << versions[s["name"].get<std::string>()].get<int>() << " did not stick: "
                  << s["message"].get<std::string>() << "\n";
        return 1;
      }
      done = done && state == "running";
    }
    const std::string line = absl::StrJoin(parts, "; ");
    if (!quiet && line != last) std::cout << line << "\n";
    last = line;
    if (done) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::cerr << "agora service: not deployed within " << absl::FormatDuration(timeout) << "\n";
  return 1;
}

void AddServiceCommands(CLI::App& app, ServiceArgs* a) {
  CLI::App* svc = app.add_subcommand("service", "deploy and steer long-running services (agora-services)");
  svc->require_subcommand(1);
  svc->add_option("--services", a->endpoint, "agora-services' API URL (default: ask the master)")
      ->envname("AGORA_SERVICES");
  for (auto [verb, help] :
       {std::pair{"deploy", "deploy a service file (YAML: one service or `services: [...]`)\n"
                            "Example: agora service deploy web.yaml --wait"},
        {"update", "deploy a changed file: changed services roll to a new version\n"
                   "Example: agora service update web.yaml --wait"}}) {
    CLI::App* cmd = svc->add_subcommand(verb, help);
    cmd->add_option("file", a->file, "the YAML file ('-' for stdin)")->required();
    cmd->add_flag("--wait", a->wait, "follow until every instance is healthy; exit 1 with the reason if it fails");
    AddDurationFlag(*cmd, "--wait-timeout,--wait_timeout", &a->wait_timeout, "give up waiting after this");
  }
  for (auto [verb, help] :
       {std::pair{"validate", "check a service file offline, as agora-services would; errors say "
                              "FILE:LINE:COL\nExample: agora service validate web.yaml"},
        {"plan", "what deploying a file would do: each service created, updated (which fields) or "
                 "unchanged, in deploy order, and whether it fits on the cluster's agents\n"
                 "Example: agora service plan web.yaml"},
        {"diff", "the file's services against the deployed ones, line by line; exit 1 when they "
                 "differ\nExample: agora service diff web.yaml"}}) {
    svc->add_subcommand(verb, help)->add_option("file", a->file, "the YAML file ('-' for stdin)")->required();
  }
  svc->add_subcommand("list", "list services: version, desired, running, healthy, state\nExample: agora service list");
  svc->add_subcommand("show", "a service's spec, state and instances\nExample: agora service show web --json")
      ->add_option("name", a->name, "the service")
      ->required();
  CLI::App* endpoints = svc->add_subcommand(
      "endpoints", "the healthy endpoints (host, port, weight) of a service\nExample: agora service endpoints web");
  endpoints->add_option("name", a->name, "the service")->required();
  endpoints->add_option("--port", a->port, "which named port (default: the first)");
  CLI::App* scale = svc->add_subcommand("scale", "set a service's instance count\nExample: agora service scale web 5");
  scale->add_option("name", a->name, "the service")->required();
  scale->add_option("instances", a->instances, "how many")->required()->check(CLI::Range(0, 10000));
  svc->add_subcommand("delete", "stop and remove services (dependants first)\nExample: agora service delete web db")
      ->add_option("names", a->names, "the services")
      ->required();
  svc->add_subcommand("restart", "replace every instance, rolling (a new version, same spec)\n"
                                 "Example: agora service restart web")
      ->add_option("name", a->name, "the service")
      ->required();
  CLI::App* rollback = svc->add_subcommand(
      "rollback", "make an earlier version current again and roll back to it (history is kept)\n"
                  "Example: agora service rollback web --to 3");
  rollback->add_option("name", a->name, "the service")->required();
  rollback->add_option("--to", a->instances, "the version (default: the one before the current)")
      ->check(CLI::PositiveNumber);
  svc->add_subcommand("history", "a service's versions\nExample: agora service history web")
      ->add_option("name", a->name, "the service")
      ->required();
}

int RunServiceCommand(CLI::App& app, ServiceArgs& a) {
  CLI::App* svc = app.get_subcommand("service");
  if (!svc->parsed()) return -1;
  const std::string verb = svc->get_subcommands().front()->get_name();
  const std::string what = "service " + verb;
  sdk::MasterClient master(a.master, a.timeout, a.curve);
  FrameworkClient api(master, "agora-services", a.endpoint, a.timeout);
  auto show = [&](const absl::StatusOr<json>& r, const std::function<void(const json&)>& print) {
    return PrintResult(what, r, a.json, print);
  };
  if (verb == "validate") return ValidateServiceFile(a.file, a.json);
  if (verb == "plan") return PlanServiceFile(a.file, api, master, a.json);
  if (verb == "diff") return DiffServiceFile(a.file, api);
  if (verb == "deploy" || verb == "update") {
    std::optional<std::string> text = ReadSpecFile(what, a.file);
    if (!text) return 2;
    auto r = api.Call("POST", "/v1/services", *text, "application/yaml");
    if (!r.ok()) return CommandFailed(what, absl::Status(r.status().code(), InFile(a.file, r.status().message())));
    if (a.json) {
      PrintData(*r);
    } else {
      for (const auto& [name, version] : (*r)["services"].items()) {
        std::cout << name << ": v" << version.get<int>() << "\n";
      }
    }
    return a.wait ? WaitForDeployment(api, (*r)["services"], a.wait_timeout, a.json) : 0;
  }
  if (verb == "list") {
    return show(api.Call("GET", "/v1/services"), [](const json& rows) {
      Table t({"NAME", "VERSION", "INSTANCES", "RUNNING", "HEALTHY", "STATE", "MESSAGE"});
      for (const json& s : rows) {
        t.AddRow({s["name"], absl::StrCat("v", s["version"].get<int>()), absl::StrCat(s["instances"].get<int>()),
                  absl::StrCat(s["running"].get<int>()), absl::StrCat(s["healthy"].get<int>()), s["state"],
                  s["message"]});
      }
      t.Print(std::cout);
    });
  }
  if (verb == "show") {
    return show(api.Call("GET", "/v1/services/" + a.name), [](const json& s) {
      std::cout << s["name"].get<std::string>() << " v" << s["version"].get<int>() << ": "
                << s["state"].get<std::string>() << ", " << s["healthy"].get<int>() << " of "
                << s["desired"].get<int>() << " healthy"
                << (s["message"].get<std::string>().empty() ? "" : " (" + s["message"].get<std::string>() + ")")
                << "\n";
      if (const json& lb = s.value("load_balancer", json()); lb.is_object()) {
        std::cout << "load balancer: port " << lb["port"].get<int>() << " (" << lb["policy"].get<std::string>()
                  << (lb["chosen"].get<bool>() ? ", chosen at deploy time" : "") << ")\n";
      }
      Table t({"TASK", "HOST", "PORTS", "STATE", "HEALTHY", "VERSION", "STARTED"});
      for (const json& i : s["instances"]) {
        std::vector<std::string> ports;
        for (const auto& [n, p] : i["ports"].items()) ports.push_back(absl::StrCat(n, ":", p.get<int>()));
        t.AddRow({i["task_id"], i["host"], absl::StrJoin(ports, ","), i["state"], i["healthy"] ? "yes" : "no",
                  absl::StrCat("v", i["version"].get<int>()), i["started_at"].is_null() ? "-" : i["started_at"]});
      }
      t.Print(std::cout);
      std::cout << "\n" << s["spec"].get<std::string>() << "\n";
    });
  }
  if (verb == "endpoints") {
    std::string path = "/v1/services/" + a.name + "/endpoints";
    if (!a.port.empty()) path += "?port=" + a.port;
    return show(api.Call("GET", path), [](const json& rows) {
      Table t({"HOST", "PORT", "WEIGHT", "TASK"});
      for (const json& e : rows) {
        t.AddRow({e["host"], absl::StrCat(e["port"].get<int>()), absl::StrFormat("%g", e["weight"].get<double>()),
                  e["task_id"]});
      }
      t.Print(std::cout);
    });
  }
  if (verb == "scale") {
    return show(api.Call("PUT", "/v1/services/" + a.name + "/scale", JsonText(json{{"instances", a.instances}})),
                [&](const json&) { std::cout << a.name << " scaled to " << a.instances << "\n"; });
  }
  if (verb == "restart" || verb == "rollback") {
    std::string path = "/v1/services/" + a.name + "/" + verb;
    if (verb == "rollback" && a.instances > 0) path += "?to=" + std::to_string(a.instances);
    auto r = api.Call("POST", path);
    if (!r.ok()) return CommandFailed(what, r.status());
    if (!a.json) std::cout << a.name << ": " << verb << " started; see `agora service show " << a.name << "`\n";
    return 0;
  }
  if (verb == "delete") {
    return show(api.Call("POST", "/v1/services/delete", JsonText(json{{"names", a.names}})),
                [&](const json&) { std::cout << "deleting " << absl::StrJoin(a.names, ", ") << "\n"; });
  }
  return show(api.Call("GET", "/v1/services/" + a.name + "/history"), [](const json& rows) {
    for (const json& v : rows) {
      std::cout << "v" << v["version"].get<int>() << "  " << v["created_at"].get<std::string>() << "\n"
                << v["spec"].get<std::string>() << "\n\n";
    }
  });
}

}  // namespace agora::tools
