// Master: the /state and /metrics bodies of its HTTP endpoint.
#include "absl/strings/str_cat.h"
#include "common/metrics_writer.h"
#include "master/master.h"

namespace agora::master {

std::string Master::StateJson() const {
  std::string out = "{";
  for (const char* part : {"agents", "frameworks", "tasks", "offers", "stats", "leader"}) {
    absl::StrAppend(&out, out.size() > 1 ? "," : "", "\"", part, "\":", *QueryJson(part));
  }
  return out + "}";
}

std::string Master::MetricsText(const SocketStats* transport) const {
  MetricsWriter w;
  w.Family("agora_agents", "gauge", "Agents by state.");
  for (AgentState s : {AgentState::kActive, AgentState::kUnreachable, AgentState::kGone,
                       AgentState::kDraining, AgentState::kDrained}) {
    size_t n = 0;
    for (const auto& [id, a] : agents_) n += a.state == s;
    w.Sample("agora_agents", double(n), absl::StrCat("state=\"", AgentStateName(s), "\""));
  }
  w.Family("agora_frameworks", "gauge", "Frameworks by state.");
  for (FrameworkState s : {FrameworkState::kActive, FrameworkState::kDisconnected}) {
    size_t n = 0;
    for (const auto& [id, f] : frameworks_) n += f.state == s;
    w.Sample("agora_frameworks", double(n), absl::StrCat("state=\"", FrameworkStateName(s), "\""));
  }
  std::array<size_t, kTaskStateCount> by_state{};
  for (const auto& [key, t] : tasks_) ++by_state[static_cast<int>(t.state)];
  w.ByTaskState("agora_tasks", "Tasks the master tracks, by state.", by_state);
  Resources total, used;
  for (const auto& [id, a] : agents_) {
    if (a.state == AgentState::kGone) continue;
    total += Resources::Scalars(a.total.cpus(), a.total.mem(), a.total.disk());
    used += Resources::Scalars(a.used.cpus(), a.used.mem(), a.used.disk());
  }
  constexpr double kMiB = 1024 * 1024;
  for (const auto& [kind, r] : {std::pair{"capacity", &total}, std::pair{"allocated", &used}}) {
    const char* what = r == &total ? "The agents' (not gone)" : "Tasks' share of the agents'";
    w.One(absl::StrCat("agora_", kind, "_cpus"), "gauge", absl::StrCat(what, " CPUs."), r->cpus());
    w.One(absl::StrCat("agora_", kind, "_memory_bytes"), "gauge", absl::StrCat(what, " memory, in bytes."),
          r->mem() * kMiB);
    w.One(absl::StrCat("agora_", kind, "_disk_bytes"), "gauge", absl::StrCat(what, " disk, in bytes."),
          r->disk() * kMiB);
  }
  w.One("agora_offers_outstanding", "gauge", "Offers made and not yet answered.",
        double(offers_.size()));
  const MasterStats& s = stats_;
  w.Counters({
      {"agora_messages_total", "Messages handled.", s.messages},
      {"agora_invalid_messages_total", "Messages answered with an error.", s.invalid_messages},
      {"agora_agents_registered_total", "Agent registrations.", s.agents_registered},
      {"agora_agents_reregistered_total", "Agent re-registrations.", s.agents_reregistered},
      {"agora_agents_expired_total", "Agents declared unreachable.", s.agents_expired},
      {"agora_expiries_deferred_total", "Expiries held back by the mass-expiry guard.",
       s.expiries_deferred},
      {"agora_frameworks_subscribed_total", "Subscriptions.", s.frameworks_subscribed},
      {"agora_offers_sent_total", "Offers sent.", s.offers_sent},
      {"agora_offers_declined_total", "Offers declined.", s.offers_declined},
      {"agora_offers_rescinded_total", "Offers rescinded.", s.offers_rescinded},
      {"agora_tasks_launched_total", "Tasks launched.", s.tasks_launched},
      {"agora_status_updates_total", "Status updates from agents.", s.status_updates},
      {"agora_usage_reports_total", "Task usage reports from agents.", s.usage_reports},
      {"agora_usage_unknown_tasks_total", "Usage samples for tasks the reporting agent does not run.",
       s.usage_unknown_tasks},
      {"agora_permission_denied_total",
       "Messages refused because their key may not do that (secured masters).",
       s.permission_denied},
      {"agora_orphan_tasks_killed_total",
       "Tasks agents reported for frameworks that are gone, killed by the master.",
       s.orphan_tasks_killed},
      {"agora_allocation_passes_total", "Allocation passes.", s.allocation_passes},
      {"agora_registry_commits_total", "Registry group commits.", s.registry_commits},
  });
  w.One("agora_elected", "gauge", "1 on the leading master (a standby serves 0).", 1);
  w.One("agora_allocation_last_seconds", "gauge", "Duration of the last allocation pass.",
        absl::ToDoubleSeconds(s.last_allocation_time));
  const MasterLatencies& l = latencies_;
  w.Latency("agora_offer_to_launch_seconds", "From an offer sent to a launch accepted on it.",
            l.offer_to_launch);
  w.Latency("agora_launch_to_running_seconds", "From a launch accepted to its task's first RUNNING.",
            l.launch_to_running);
  w.Latency("agora_allocation_pass_seconds", "Allocation passes.", l.allocation_pass);
  w.Latency("agora_registry_commit_seconds", "Registry group commits, from start to durable.",
            l.registry_commit);
  w.Latencies("agora_message_duration_seconds", "Handling one message, by its kind.", l.message);
  if (transport != nullptr) w.Socket("agora", *transport);
  return w.Take();
}

}  // namespace agora::master
