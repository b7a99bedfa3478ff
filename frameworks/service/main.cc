// agora-services: the service orchestrator framework daemon.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/cli.h"
#include "common/http_endpoint.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/sqlite_kv.h"
#include "frameworks/sdk/agent_totals.h"
#include "frameworks/service/service_api.h"
#include "frameworks/service/service_framework.h"

int main(int argc, char** argv) {
  using namespace agora;
  using namespace agora::service;
  BlockSignals({SIGINT, SIGTERM});
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"agora-services: keeps long-running services at their desired healthy count.\n"
               "Example: agora-services --master tcp://127.0.0.1:5050 --work_dir /var/lib/agora/services"};
  std::string master = "tcp://127.0.0.1:5050";
  std::string work_dir = "/var/lib/agora/services";
  std::string role = "services", name = "agora-services", http_host = "127.0.0.1";
  int http_port = 5070;
  app.add_option("--master", master, "the master's endpoint")->capture_default_str();
  app.add_option("--work_dir", work_dir, "directory for the framework's store")->capture_default_str();
  app.add_option("--role", role, "the role to subscribe under")->capture_default_str();
  app.add_option("--name", name, "the framework's name (the CLI finds it by this)")->capture_default_str();
  app.add_option("--http_host", http_host, "host for the API and /metrics")->capture_default_str();
  app.add_option("--http_port", http_port, "port for the API; 0: any free port")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  AddLogLevelFlag(app);
  if (int rc = ParseCommandLine(app, argc, argv); rc >= 0) return rc;

  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) {
    std::cerr << "cannot create --work_dir " << work_dir << ": " << ec.message() << "\n";
    return 1;
  }
  auto store = SqliteKv::Open((std::filesystem::path(work_dir) / "services.db").string(), /*fsync=*/false);
  if (!store.ok()) {
    std::cerr << "agora-services: " << store.status().message() << "\n";
    return 1;
  }
  ServiceFramework framework(**store);
  if (absl::Status s = framework.Recover(); !s.ok()) {
    std::cerr << "agora-services: cannot recover from " << work_dir << ": " << s.message() << "\n";
    return 1;
  }
  sdk::FrameworkInfo info;
  info.name = name;
  info.role = role;
  info.framework_id = framework.StoredFrameworkId();
  sdk::SchedulerDriver driver(framework, info, master);
  framework.Attach(driver);

  sdk::AgentTotals agents(master);
  auto http = HttpEndpoint::Start(
      http_host, http_port, driver.loop(),
      [&](const std::string& path) {
        return path == "/state" ? framework.StateJson().dump() : framework.MetricsText();
      },
      [&](const HttpRequest& request) {
        return ServeServiceApi(framework, [&] { return agents.Get(); }, request);
      });
  if (!http.ok()) {
    std::cerr << "agora-services: " << http.status().message() << "\n";
    return 1;
  }
  const std::string endpoint = AdvertisedUrl(http_host, (*http)->port());
  driver.SetEndpoint(endpoint);
  std::ofstream(std::filesystem::path(work_dir) / "endpoint") << endpoint << "\n";
  AGORA_LOG(INFO, "services") << "API on " << endpoint << ", master " << master;

  SignalWatcher signals(driver.loop(), {SIGINT, SIGTERM}, [&](int sig) {
    AGORA_LOG(INFO, "services") << "signal " << sig << ": stopping (instances keep running for failover)";
    driver.Stop(/*failover=*/true);
  });
  return driver.Run();
}
