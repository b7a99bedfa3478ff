// The fixture of agora-services' integration tests: the real master, agents
// with their own port ranges, and agora-services (its load balancers bound
// to 127.0.0.1, choosing ports from a range of their own), driven through
// `agora service` and `agora config`.
#pragma once

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/integration/framework_fixture.h"

namespace agora::testing {

class ServiceTest : public FrameworkTest {
 protected:
  ServiceTest() : FrameworkTest("agora-services") {
    const int lb_ports = FreePortRange(20);
    framework_flags_ = {"--lb_bind", "127.0.0.1", "--lb_ports", absl::StrCat(lb_ports, "-", lb_ports + 19)};
  }

  ClusterOptions WithPorts(int agents = 3) {
    ClusterOptions o;
    o.agents = agents;
    // All agents are this machine: each gets its own port range, as on separate hosts.
    o.agent_ports = true;
    return o;
  }

  CliResult Deploy(const std::string& yaml, bool wait = true) {
    std::vector<std::string> args = {"service", "deploy", Write(absl::StrCat("svc", ++files_, ".yaml"), yaml)};
    if (wait) args.push_back("--wait");
    return Cli(args);
  }

  nlohmann::json Service(const std::string& name) {
    for (const nlohmann::json& s : CliJson({"service", "list"})) {
      if (s["name"] == name) return s;
    }
    return nlohmann::json();
  }

  bool WaitForHealthy(const std::string& name, int n, absl::Duration timeout = absl::Seconds(40)) {
    return WaitFor(
        [&] {
          nlohmann::json s = Service(name);
          return s.is_object() && s["healthy"] == n && s["running"] == n && s["state"] == "running";
        },
        timeout);
  }

  // Its instances not on their way out (a stopped instance serving traffic
  // is listed, with its kill_reason, for the drain before its kill).
  std::set<std::string> TaskIds(const std::string& name) {
    std::set<std::string> ids;
    const nlohmann::json show = CliJson({"service", "show", name});
    for (const nlohmann::json& i : show["instances"]) {
      if (i["kill_reason"].is_null()) ids.insert(i["task_id"]);
    }
    return ids;
  }

  // The master's view: running tasks of agora-services.
  int RunningTasks() {
    int n = 0;
    for (const nlohmann::json& t : cluster_->Query("tasks")) n += t["state"] == "running";
    return n;
  }
};

// A web server on its named port, with an http health check.
inline std::string Web(const std::string& name, int instances, const std::string& extra = "") {
  return absl::StrCat("name: ", name, "\ncommand: exec python3 -m http.server $PORT_HTTP --bind 127.0.0.1\n",
                      "instances: ", instances, "\nresources: {cpus: 0.1, mem: 64}\nports: [http]\n",
                      "health_check: {type: http, port: http, path: /, interval: 300ms, timeout: 1s, ",
                      "grace_period: 20s, max_failures: 2}\n", extra);
}

}  // namespace agora::testing
