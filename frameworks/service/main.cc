// agora-services: the service orchestrator framework daemon.
#include <signal.h>
#include <sys/stat.h>

#include <iostream>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/cli.h"
#include "common/json_text.h"
#include "common/signals.h"
#include "common/sqlite_kv.h"
#include "frameworks/sdk/agent_totals.h"
#include "frameworks/sdk/framework_daemon.h"
#include "frameworks/sdk/driver_core.h"
#include "frameworks/service/haproxy_process.h"
#include "frameworks/service/load_balancer_sync.h"
#include "frameworks/service/service_api.h"
#include "frameworks/service/service_framework.h"

int main(int argc, char** argv) {
  using namespace agora;
  using namespace agora::service;
  BlockSignals({SIGINT, SIGTERM, SIGHUP});
  signal(SIGPIPE, SIG_IGN);
  ::umask(077);  // its registry, store and logs hold tenants' commands and environments

  CLI::App app{"agora-services: keeps long-running services at their desired healthy count.\n"
               "Example: agora-services --master tcp://127.0.0.1:5050 --work-dir /var/lib/agora/services"};
  sdk::DaemonFlags flags{.work_dir = "/var/lib/agora/services", .role = "services",
                         .name = "agora-services", .http_port = 5070};
  sdk::AddDaemonFlags(app, &flags);
  std::string haproxy_binary = "haproxy";
  HaproxyOptions lb;
  std::string lb_ports = "10000-10999";
  app.add_option("--haproxy", haproxy_binary,
                 "the HAProxy program serving services' load_balancer ports; 'none': no load balancing")
      ->capture_default_str();
  app.add_option("--lb-bind,--lb_bind", lb.bind_address, "the address load balancer ports listen on")->capture_default_str();
  int lb_first = 10000, lb_last = 10999;
  app.add_option("--lb-ports,--lb_ports", lb_ports,
                 "FIRST-LAST: where a port is chosen for a load balancer whose spec names none (kept for "
                 "the service's life)")
      ->check([&](const std::string& text) {
        const size_t dash = text.find('-');
        if (dash == std::string::npos || !absl::SimpleAtoi(text.substr(0, dash), &lb_first) ||
            !absl::SimpleAtoi(text.substr(dash + 1), &lb_last) || lb_first < 1 || lb_last > 65535 ||
            lb_first > lb_last) {
          return std::string("expected FIRST-LAST, ports from 1 to 65535, e.g. 10000-10999");
        }
        return std::string();
      })
      ->capture_default_str();
  if (int rc = ParseCommandLine(app, argc, argv); rc >= 0) return rc;

  std::unique_ptr<SqliteKv> store = sdk::OpenStore(&flags, "services.db");
  if (store == nullptr) return 1;
  ServiceFramework framework(*store);
  if (absl::Status s = framework.Recover(); !s.ok()) {
    std::cerr << "agora-services: cannot recover from " << flags.work_dir << ": " << s.message() << "\n";
    return 1;
  }
  sdk::FrameworkInfo info;
  info.name = flags.name;
  info.role = flags.role;
  info.framework_id = framework.StoredFrameworkId();
  info.curve = sdk::ToCurveKeys(flags.curve);
  sdk::SchedulerDriver driver(framework, info, flags.master);
  framework.Attach(driver);
  sdk::AgentTotals agents(flags.master, flags.curve);

  // HAProxy lives in WORK_DIR/haproxy; one left by a killed agora-services is adopted.
  std::optional<HaproxyProcess> haproxy;
  std::optional<LoadBalancerSync> lb_sync;
  if (haproxy_binary != "none") {
    haproxy.emplace(haproxy_binary, flags.work_dir + "/haproxy");
    if (absl::Status s = haproxy->CheckBinary(); !s.ok()) {
      std::cerr << "agora-services: --haproxy " << haproxy_binary << " does not run (" << s.message()
                << "); load balancers are off\n";
      haproxy.reset();
    } else {
      lb_sync.emplace(framework, *haproxy, lb, sdk::LoopOf(driver));
    }
  }
  framework.set_load_balancer_available(haproxy.has_value());
  framework.set_load_balancer_port_chooser([&](const std::set<int>& taken) {
    for (int port = lb_first; port <= lb_last; ++port) {
      if (!taken.contains(port) && Bindable(absl::StrCat(lb.bind_address, ":", port)).ok()) return port;
    }
    return 0;
  });
  const int rc = sdk::ServeAndRun(
      driver, flags,
      [&](const std::string& path) {
        if (path != "/state") return framework.MetricsText() + (haproxy ? LoadBalancerMetrics(*haproxy) : "");
        nlohmann::json state = framework.StateJson();
        state["load_balancer"] = haproxy ? haproxy->StatusJson() : nlohmann::json(nullptr);
        return JsonText(state);
      },
      [&](const HttpRequest& request) {
        return ServeServiceApi(framework, [&] { return agents.Get(); }, request);
      });
  if (haproxy) haproxy->Stop(/*wait=*/true);  // a clean stop leaves nothing running; a crash leaves HAProxy serving
  return rc;
}
