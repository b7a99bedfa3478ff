// agora-loadgen: emulated agents and frameworks against a real master, to
// measure it at scale. See emulated_agents.h and emulated_frameworks.h.
//
// Phases: register every agent; subscribe the frameworks; launch for
// --duration (a --churn share of agents falls silent a quarter in, and as
// many new agents join); stop launching and wait for the tasks and the
// expiries to settle (bounded); tear the frameworks down; print one JSON line.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

#include "bench/loadgen/emulated_agents.h"
#include "common/json_text.h"
#include "bench/loadgen/emulated_frameworks.h"
#include "bench/loadgen/process_sample.h"
#include "common/cli.h"
#include "common/leader_detector.h"
#include "common/log.h"

namespace agora::loadgen {
namespace {

absl::Duration OwnCpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) + absl::DurationFromTimeval(usage.ru_stime);
}

// Runs the loop until `done` or `deadline`; true if `done`.
template <typename Done>
bool RunUntil(EventLoop& loop, absl::Time deadline, Done done) {
  while (!done()) {
    if (loop.Now() >= deadline) return false;
    loop.RunOnce(absl::Milliseconds(5));
  }
  return true;
}

nlohmann::json Ms(const Samples& s, double p) {
  auto v = s.Percentile(p);
  return v ? nlohmann::json(std::round(*v * 100) / 100) : nlohmann::json();
}

int Run(const LoadOptions& options, int master_pid, bool launch) {
  SystemClock clock;
  EventLoop loop(clock);
  zmq::context_t context;
  LoadCounts counts;
  auto sample_master = [&]() -> std::optional<ProcessSample> {
    if (master_pid <= 0) return std::nullopt;
    auto s = SampleProcess(master_pid);
    return s.ok() ? std::optional(*s) : std::nullopt;
  };
  const auto master_base = sample_master();

  EmulatedAgents agents(context, loop, options, counts);
  // With zk://, every connection follows the elected master.
  std::unique_ptr<EmulatedFrameworks> frameworks_ptr;
  std::unique_ptr<LeaderFollower> follower;
  if (IsZkUrl(options.master)) {
    auto started = LeaderFollower::Start(loop, options.master, [&](const std::optional<LeaderInfo>& leader) {
      if (!leader) return;
      counts.leader_changed = loop.Now();
      counts.first_offer_after_leader_change = absl::InfinitePast();
      agents.Retarget(leader->endpoint);
      if (frameworks_ptr) frameworks_ptr->Retarget(leader->endpoint);
    });
    if (!started.ok()) {
      std::cerr << "agora-loadgen: " << started.status().message() << "\n";
      return 2;
    }
    follower = *std::move(started);
  }
  agents.Add(options.agents);
  const absl::Time register_start = loop.Now();
  if (!RunUntil(loop, register_start + absl::Seconds(30) + options.agents * absl::Milliseconds(1),
                [&] { return agents.registered() == options.agents; })) {
    std::cerr << "agora-loadgen: only " << agents.registered() << " of " << options.agents
              << " agents registered with " << options.master << "; is the master running?\n";
    return 1;
  }
  const absl::Duration register_time = loop.Now() - register_start;
  const auto master_registered = sample_master();

  frameworks_ptr = std::make_unique<EmulatedFrameworks>(context, loop, options, counts, agents);
  EmulatedFrameworks& frameworks = *frameworks_ptr;
  if (follower && follower->leader()) frameworks.Retarget(follower->leader()->endpoint);
  if (!RunUntil(loop, loop.Now() + absl::Seconds(10),
                [&] { return frameworks.subscribed() == options.frameworks; })) {
    std::cerr << "agora-loadgen: only " << frameworks.subscribed() << " of " << options.frameworks
              << " frameworks subscribed\n";
    return 1;
  }

  const absl::Time start = loop.Now();
  const absl::Time end = start + options.duration;
  const absl::Duration own_cpu_start = OwnCpu();
  if (launch) frameworks.StartLaunching(end);
  const int churn = static_cast<int>(std::lround(options.churn * options.agents));
  bool churned = false;
  int max_running = 0;
  RunUntil(loop, end, [&] {
    max_running = std::max(max_running, agents.tasks_running());
    if (!churned && churn > 0 && loop.Now() >= start + options.duration / 4) {
      churned = true;
      agents.Silence(churn);
      agents.Add(churn);
    }
    return false;
  });
  const auto master_end = sample_master();
  const absl::Duration own_cpu = OwnCpu() - own_cpu_start;
  const absl::Duration window = loop.Now() - start;

  frameworks.StopLaunching();
  const absl::Duration settle =
      std::max(options.task_duration * 1.5, options.heartbeat_timeout) + absl::Seconds(3);
  const bool settled = RunUntil(loop, loop.Now() + settle, [&] {
    return frameworks.outstanding() == 0 && agents.silenced_undetected() == 0;
  });
  frameworks.Teardown();
  RunUntil(loop, loop.Now() + absl::Milliseconds(300), [] { return false; });

  nlohmann::json out;
  out["agents"] = options.agents;
  out["frameworks"] = options.frameworks;
  out["rate"] = options.rate;
  out["duration_s"] = absl::ToDoubleSeconds(window);
  out["register_s"] = std::round(absl::ToDoubleSeconds(register_time) * 1000) / 1000;
  out["register_latency_p99_ms"] = Ms(counts.registration, 99);
  out["tasks_launched"] = counts.tasks_launched;
  out["tasks_running"] = counts.tasks_running;
  out["tasks_finished"] = counts.tasks_finished;
  out["tasks_lost"] = counts.tasks_lost;
  out["tasks_other_terminal"] = counts.tasks_other_terminal;
  out["tasks_unreachable"] = counts.tasks_unreachable;
  out["tasks_rejected"] = counts.tasks_rejected;
  out["tasks_unsettled"] = frameworks.outstanding();
  out["tasks_per_s"] = std::round(double(counts.tasks_running_in_window) / absl::ToDoubleSeconds(window));
  out["launch_latency_p50_ms"] = Ms(counts.launch, 50);
  out["launch_latency_p99_ms"] = Ms(counts.launch, 99);
  out["offer_latency_p99_ms"] = Ms(counts.offer, 99);
  out["agents_silenced"] = counts.agents_silenced;
  out["agents_joined"] = agents.registered() - options.agents;
  out["agents_reregistered"] = counts.agents_reregistered;
  out["expiry_detect_ms_p50"] = Ms(counts.expiry, 50);
  out["expiry_detect_ms_p99"] = Ms(counts.expiry, 99);
  out["expiries_undetected"] = agents.silenced_undetected();
  out["updates_sent"] = counts.updates_sent;
  out["updates_acked"] = counts.updates_acked;
  out["updates_resent"] = counts.updates_resent;
  out["errors"] = counts.errors;
  out["stale_offer_answers"] = counts.stale_offer_answers;
  out["send_dropped"] = counts.send_dropped;
  out["settled"] = settled;
  out["loadgen_cpu_pct"] = std::round(100.0 * absl::FDivDuration(own_cpu, window));
  out["master_cpu_pct"] = nullptr;
  out["master_rss_mb"] = nullptr;
  if (master_registered && master_end) {
    out["master_cpu_pct"] = std::round(CpuPercent(*master_registered, *master_end, window));
    out["master_rss_mb"] = std::round(double(master_end->rss_bytes) / (1 << 20));
    out["master_peak_rss_mb"] = std::round(double(master_end->peak_rss_bytes) / (1 << 20));
    if (master_base) {
      out["master_kb_per_agent"] =
          std::round(double(master_registered->rss_bytes - master_base->rss_bytes) / 1024 /
                     options.agents * 100) / 100;
    }
    if (max_running > 0) {
      out["master_kb_per_task"] =
          std::round(double(master_end->peak_rss_bytes - master_registered->rss_bytes) / 1024 /
                     max_running * 100) / 100;
    }
  }
  out["max_tasks_running"] = max_running;
  // After a master restart (bench/master_restart): when the state was back.
  out["frameworks_resubscribed"] = counts.frameworks_resubscribed;
  if (counts.last_reregistered != absl::InfinitePast()) {
    out["last_reregistered_unix_ms"] = absl::ToUnixMillis(counts.last_reregistered);
  }
  if (counts.leader_changed != absl::InfinitePast()) {
    out["leader_changed_unix_ms"] = absl::ToUnixMillis(counts.leader_changed);
  }
  if (counts.first_offer_after_leader_change != absl::InfinitePast()) {
    out["first_offer_after_leader_change_unix_ms"] = absl::ToUnixMillis(counts.first_offer_after_leader_change);
  }
  if (counts.last_resubscribed != absl::InfinitePast()) {
    out["last_resubscribed_unix_ms"] = absl::ToUnixMillis(counts.last_resubscribed);
  }
  std::cout << JsonText(out) << std::endl;
  return 0;
}

}  // namespace
}  // namespace agora::loadgen

int main(int argc, char** argv) {
  using namespace agora;
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "agora-loadgen: emulates agents and frameworks against a real master and prints one JSON "
      "line of throughput, latency and the master's cpu and memory.\n"
      "Example: agora-loadgen --master tcp://127.0.0.1:5050 --agents 10000 --frameworks 10 "
      "--duration 10s --master-pid $(pidof agora-master)"};
  loadgen::LoadOptions options;
  int master_pid = 0;
  bool launch = true;
  app.add_option("--master", options.master,
                 "the master's ZeroMQ endpoint, or zk://HOST:PORT,.../PATH to follow the elected one")->required();
  app.add_option("--agents", options.agents, "emulated agents")
      ->check(CLI::Range(1, 1'000'000))->capture_default_str();
  app.add_option("--frameworks", options.frameworks, "emulated frameworks")
      ->check(CLI::Range(0, 1000))->capture_default_str();
  AddDurationFlag(app, "--duration", &options.duration, "how long the frameworks launch");
  AddDurationFlag(app, "--task-duration,--task_duration", &options.task_duration,
                  "mean task run time (each runs 0.5x to 1.5x of it)");
  app.add_option("--tasks", launch, "frameworks launch tasks (false: they only watch)")
      ->capture_default_str();
  app.add_option("--rate", options.rate,
                 "launch at most this many tasks per second in all (0: as fast as offers allow)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--connections", options.connections,
                 "connections the agents share (0: one per 2,000 agents, at most 16)")
      ->check(CLI::Range(0, 256))->capture_default_str();
  app.add_option("--agent-cpus,--agent_cpus", options.agent_cpus, "cpus per agent")->capture_default_str();
  app.add_option("--agent-mem,--agent_mem", options.agent_mem, "MiB per agent")->capture_default_str();
  app.add_option("--task-cpus,--task_cpus", options.task_cpus, "cpus per task")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--task-mem,--task_mem", options.task_mem, "MiB per task")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--churn", options.churn,
                 "share of agents that fall silent a quarter into the run (as many join)")
      ->check(CLI::Range(0.0, 0.5))->capture_default_str();
  AddDurationFlag(app, "--heartbeat-timeout,--heartbeat_timeout", &options.heartbeat_timeout,
                  "the master's --heartbeat-timeout (for expiry detection)");
  app.add_option("--master-pid,--master_pid", master_pid, "the master's pid, to sample its cpu and memory");
  app.add_option("--seed", options.seed, "random seed (agent names, task durations)")
      ->capture_default_str();
  AddLogLevelFlag(app);
  if (int rc = ParseCommandLine(app, argc, argv); rc >= 0) return rc;
  return loadgen::Run(options, master_pid, launch);
}
