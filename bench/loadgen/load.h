// What the load generator's emulated agents and frameworks share: the run's
// options and the counts and latencies they record for the final report.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "bench/loadgen/samples.h"

namespace agora::loadgen {

struct LoadOptions {
  std::string master;
  int agents = 1000;
  int frameworks = 1;
  absl::Duration duration = absl::Seconds(10);
  absl::Duration task_duration = absl::Seconds(1);  // each task runs 0.5x..1.5x of it
  int connections = 0;                              // 0: one per 2,000 agents, 1..16
  double agent_cpus = 8, agent_mem = 16384, agent_disk = 100000;
  double task_cpus = 1, task_mem = 64;
  double rate = 0;  // tasks launched per second over all frameworks; 0: as offers allow
  double churn = 0.01;  // share of agents that fall silent, and as many that join, mid-run
  absl::Duration heartbeat_timeout = absl::Seconds(5);  // the master's
  uint64_t seed = 1;
};

struct LoadCounts {
  uint64_t agents_registered = 0;
  uint64_t agents_reregistered = 0;
  uint64_t agents_silenced = 0;
  uint64_t agents_lost_seen = 0;  // agentLost messages at the frameworks
  uint64_t offers = 0;
  uint64_t offers_rescinded = 0;
  uint64_t tasks_launched = 0;
  uint64_t tasks_running = 0;      // RUNNING seen by a framework
  uint64_t tasks_running_in_window = 0;
  uint64_t tasks_finished = 0;
  uint64_t tasks_lost = 0;            // LOST: e.g. launches that died with a master
  uint64_t tasks_other_terminal = 0;  // killed, failed, ...
  uint64_t tasks_unreachable = 0;     // on agents that fell silent
  uint64_t tasks_rejected = 0;        // in accepts the master refused
  uint64_t updates_sent = 0;          // by the agents, each with a uuid
  uint64_t updates_acked = 0;         // updates acknowledged (each once)
  uint64_t updates_resent = 0;        // after re-registrations
  uint64_t errors = 0;                // error answers from the master
  uint64_t stale_offer_answers = 0;   // answers to offers rescinded meanwhile
  uint64_t send_dropped = 0;
  uint64_t frameworks_resubscribed = 0;
  absl::Time last_reregistered = absl::InfinitePast();
  // With zk://: the last change of leader seen, and the first offer after it.
  absl::Time leader_changed = absl::InfinitePast();
  absl::Time first_offer_after_leader_change = absl::InfinitePast();
  absl::Time last_resubscribed = absl::InfinitePast();
  Samples launch;        // accept sent -> RUNNING at the framework
  Samples offer;         // resources freed at the agent -> offered again
  Samples expiry;        // silence past the heartbeat timeout -> agentLost at a framework
  Samples registration;  // RegisterAgent sent -> AgentRegistered
};

}  // namespace agora::loadgen
