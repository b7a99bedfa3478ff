// agora-batch: the batch job framework daemon, and its policy simulator.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/json_text.h"
#include "common/cli.h"
#include "common/signals.h"
#include "frameworks/batch/batch_api.h"
#include "frameworks/batch/batch_framework.h"
#include "frameworks/batch/simulator.h"
#include "frameworks/sdk/agent_totals.h"
#include "frameworks/sdk/driver_core.h"
#include "frameworks/sdk/framework_daemon.h"

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
    std::cout << JsonText(out) << "\n";
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
  BlockSignals({SIGINT, SIGTERM, SIGHUP});
  signal(SIGPIPE, SIG_IGN);
  ::umask(077);  // its registry, store and logs hold tenants' commands and environments

  CLI::App app{"agora-batch: the batch job framework (queues, DAG workflows, retries, cron).\n"
               "Example: agora-batch --master tcp://127.0.0.1:5050 --work-dir /var/lib/agora/batch"};
  sdk::DaemonFlags flags{.work_dir = "/var/lib/agora/batch", .role = "batch", .name = "agora-batch",
                         .http_port = 5060};
  std::string placement = "binpack";
  BatchOptions options;
  sdk::AddDaemonFlags(app, &flags);
  app.add_option("--placement", placement, "binpack (fill an agent first) or spread")
      ->check(CLI::IsMember({"binpack", "spread"}))
      ->capture_default_str();
  AddDurationFlag(app, "--retention", &options.retention,
                  "finished runs are forgotten this long after their last job ended; 0: never");
  app.add_option("--max-array-size,--max_array_size", options.limits.max_array_size,
                 "the most tasks one job's array may have")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  app.add_option("--max-tasks-per-run,--max_tasks_per_run", options.limits.max_tasks_per_run,
                 "the most tasks one submission may hold, arrays counted whole")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}))
      ->capture_default_str();

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

  std::unique_ptr<SqliteKv> store = sdk::OpenStore(&flags, "batch.db");
  if (store == nullptr) return 1;
  BatchFramework framework(*store, options);
  if (absl::Status s = framework.Recover(); !s.ok()) {
    std::cerr << "agora-batch: cannot recover from " << flags.work_dir << ": " << s.message() << "\n";
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
  return sdk::ServeAndRun(
      driver, flags,
      [&](const std::string& path) {
        return path == "/state" ? JsonText(framework.StateJson()) : framework.MetricsText();
      },
      [&](const HttpRequest& request) {
        return ServeBatchApi(framework, [&] { return agents.Get(); }, request);
      });
}
