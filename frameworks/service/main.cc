// agora-services: the service orchestrator framework daemon.
#include <signal.h>

#include <iostream>

#include "common/cli.h"
#include "common/signals.h"
#include "common/sqlite_kv.h"
#include "frameworks/sdk/agent_totals.h"
#include "frameworks/sdk/framework_daemon.h"
#include "frameworks/service/service_api.h"
#include "frameworks/service/service_framework.h"

int main(int argc, char** argv) {
  using namespace agora;
  using namespace agora::service;
  BlockSignals({SIGINT, SIGTERM});
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"agora-services: keeps long-running services at their desired healthy count.\n"
               "Example: agora-services --master tcp://127.0.0.1:5050 --work_dir /var/lib/agora/services"};
  sdk::DaemonFlags flags{.work_dir = "/var/lib/agora/services", .role = "services",
                         .name = "agora-services", .http_port = 5070};
  sdk::AddDaemonFlags(app, &flags);
  if (int rc = ParseCommandLine(app, argc, argv); rc >= 0) return rc;

  std::unique_ptr<SqliteKv> store = sdk::OpenStore(flags, "services.db");
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
  sdk::SchedulerDriver driver(framework, info, flags.master);
  framework.Attach(driver);
  sdk::AgentTotals agents(flags.master);
  return sdk::ServeAndRun(
      driver, flags,
      [&](const std::string& path) {
        return path == "/state" ? framework.StateJson().dump() : framework.MetricsText();
      },
      [&](const HttpRequest& request) {
        return ServeServiceApi(framework, [&] { return agents.Get(); }, request);
      });
}
