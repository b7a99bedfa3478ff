// agora-batch: the batch job framework daemon, and its policy simulator.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/cli.h"
#include "common/http_endpoint.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/sqlite_kv.h"
#include "frameworks/batch/batch_api.h"
#include "frameworks/batch/batch_framework.h"
#include "frameworks/batch/simulator.h"
#include "frameworks/sdk/agent_totals.h"

namespace agora::batch {
namespace {

struct SimulateOptions {
  std::string trace;
  std::string policy = "fcfs";
  int slots = 1;
  bool json = false;
};

int RunSimulation(const SimulateOptions& o) {
  std::ifstream in(o.trace);
  if (!in) {
    std::cerr << "agora-batch simulate: cannot read --trace " << o.trace << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto trace = ParseTrace(text.str());
  auto policy = ParsePolicy(o.policy);
  if (!trace.ok() || !policy.ok()) {
    std::cerr << "agora-batch simulate: "
              << (trace.ok() ? policy.status().message() : trace.status().message()) << "\n";
    return 2;
  }
  auto r = Simulate(*trace, QueueConfig{.name = "default", .policy = *policy}, o.slots);
  if (!r.ok()) {
    std::cerr << "agora-batch simulate: " << r.status().message() << "\n";
    return 1;
  }
  nlohmann::json out = {{"policy", o.policy},        {"slots", o.slots},
                        {"jobs", r->jobs},           {"mean_wait_s", r->mean_wait_s},
                        {"p95_wait_s", r->p95_wait_s}, {"mean_turnaround_s", r->mean_turnaround_s},
                        {"makespan_s", r->makespan_s}, {"utilization", r->utilization},
                        {"preemptions", r->preemptions}};
  if (o.json) {
    std::cout << out.dump() << "\n";
  } else {
    for (auto& [k, v] : out.items()) std::cout << k << ": " << v << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace agora::batch

int main(int argc, char** argv) {
  using namespace agora;
  using namespace agora::batch;
  BlockSignals({SIGINT, SIGTERM});
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"agora-batch: the batch job framework (queues, DAG workflows, retries, cron).\n"
               "Example: agora-batch --master tcp://127.0.0.1:5050 --work_dir /var/lib/agora/batch"};
  std::string master = "tcp://127.0.0.1:5050";
  std::string work_dir = "/var/lib/agora/batch";
  std::string role = "batch", name = "agora-batch", http_host = "127.0.0.1", placement = "binpack";
  int http_port = 5060;
  BatchOptions options;
  app.add_option("--master", master, "the master's endpoint")->capture_default_str();
  app.add_option("--work_dir", work_dir, "directory for the framework's store")->capture_default_str();
  app.add_option("--role", role, "the role to subscribe under")->capture_default_str();
  app.add_option("--name", name, "the framework's name (the CLI finds it by this)")->capture_default_str();
  app.add_option("--http_host", http_host, "host for the API and /metrics")->capture_default_str();
  app.add_option("--http_port", http_port, "port for the API; 0: any free port")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--placement", placement, "binpack (fill an agent first) or spread")
      ->check(CLI::IsMember({"binpack", "spread"}))
      ->capture_default_str();
  AddLogLevelFlag(app);

  SimulateOptions sim;
  CLI::App* simulate = app.add_subcommand(
      "simulate", "replay a trace through a queue policy in virtual time\n"
                  "Example: agora-batch simulate --trace jobs.csv --policy sjf --slots 8 --json");
  simulate->add_option("--trace", sim.trace, "CSV: arrival,duration,cpus,priority (seconds)")->required();
  simulate->add_option("--policy", sim.policy, "fcfs, sjf, srtf or priority")
      ->check(CLI::IsMember({"fcfs", "sjf", "srtf", "priority"}))
      ->capture_default_str();
  simulate->add_option("--slots", sim.slots, "identical one-cpu slots")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  simulate->add_flag("--json", sim.json, "print one JSON object");
  if (int rc = ParseCommandLine(app, argc, argv); rc >= 0) return rc;
  if (simulate->parsed()) return RunSimulation(sim);
  options.placement = *ParsePlacement(placement);

  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) {
    std::cerr << "cannot create --work_dir " << work_dir << ": " << ec.message() << "\n";
    return 1;
  }
  auto store = SqliteKv::Open((std::filesystem::path(work_dir) / "batch.db").string(), /*fsync=*/false);
  if (!store.ok()) {
    std::cerr << "agora-batch: " << store.status().message() << "\n";
    return 1;
  }
  BatchFramework framework(**store, options);
  if (absl::Status s = framework.Recover(); !s.ok()) {
    std::cerr << "agora-batch: cannot recover from " << work_dir << ": " << s.message() << "\n";
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
        return ServeBatchApi(framework, [&] { return agents.Get(); }, request);
      });
  if (!http.ok()) {
    std::cerr << "agora-batch: " << http.status().message() << "\n";
    return 1;
  }
  const std::string endpoint = AdvertisedUrl(http_host, (*http)->port());
  driver.SetEndpoint(endpoint);
  std::ofstream(std::filesystem::path(work_dir) / "endpoint") << endpoint << "\n";
  AGORA_LOG(INFO, "batch") << "API on " << endpoint << ", master " << master;

  SignalWatcher signals(driver.loop(), {SIGINT, SIGTERM}, [&](int sig) {
    AGORA_LOG(INFO, "batch") << "signal " << sig << ": stopping (tasks keep running for failover)";
    driver.Stop(/*failover=*/true);
  });
  return driver.Run();
}
