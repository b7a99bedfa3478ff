// Master: the /state and /metrics bodies of its HTTP endpoint.
#include "absl/strings/str_cat.h"
#include "common/metrics_writer.h"
#include "master/master.h"

namespace agora::master {

std::string Master::StateJson() const {
  std::string out = "{";
  for (const char* part : {"agents", "frameworks", "tasks", "offers", "stats"}) {
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
  w.Family("agora_tasks", "gauge", "Tasks the master tracks, by state.");
  for (int s = 0; s <= static_cast<int>(TaskState::kKilling); ++s) {
    size_t n = 0;
    for (const auto& [key, t] : tasks_) n += static_cast<int>(t.state) == s;
    w.Sample("agora_tasks", double(n),
             absl::StrCat("state=\"", TaskStateName(static_cast<TaskState>(s)), "\""));
  }
  Resources total, used;
  for (const auto& [id, a] : agents_) {
    if (a.state == AgentState::kGone) continue;
    total += Resources::Scalars(a.total.cpus(), a.total.mem(), a.total.disk());
    used += Resources::Scalars(a.used.cpus(), a.used.mem(), a.used.disk());
  }
  for (const auto& [name, r] : {std::pair{"agora_resources_total", &total},
                                std::pair{"agora_resources_used", &used}}) {
    w.Family(name, "gauge", "Cluster resources (mem and disk in MiB).");
    w.Sample(name, r->cpus(), "resource=\"cpus\"");
    w.Sample(name, r->mem(), "resource=\"mem\"");
    w.Sample(name, r->disk(), "resource=\"disk\"");
  }
  w.One("agora_offers_outstanding", "gauge", "Offers made and not yet answered.",
        double(offers_.size()));
  const MasterStats& s = stats_;
  w.One("agora_messages_total", "counter", "Messages handled.", double(s.messages));
  w.One("agora_invalid_messages_total", "counter", "Messages answered with an error.",
        double(s.invalid_messages));
  w.One("agora_agents_registered_total", "counter", "Agent registrations.",
        double(s.agents_registered));
  w.One("agora_agents_reregistered_total", "counter", "Agent re-registrations.",
        double(s.agents_reregistered));
  w.One("agora_agents_expired_total", "counter", "Agents declared unreachable.",
        double(s.agents_expired));
  w.One("agora_expiries_deferred_total", "counter",
        "Expiries held back by the mass-expiry guard.", double(s.expiries_deferred));
  w.One("agora_frameworks_subscribed_total", "counter", "Subscriptions.",
        double(s.frameworks_subscribed));
  w.One("agora_offers_sent_total", "counter", "Offers sent.", double(s.offers_sent));
  w.One("agora_offers_declined_total", "counter", "Offers declined.", double(s.offers_declined));
  w.One("agora_offers_rescinded_total", "counter", "Offers rescinded.",
        double(s.offers_rescinded));
  w.One("agora_tasks_launched_total", "counter", "Tasks launched.", double(s.tasks_launched));
  w.One("agora_status_updates_total", "counter", "Status updates from agents.",
        double(s.status_updates));
  w.One("agora_allocation_passes_total", "counter", "Allocation passes.",
        double(s.allocation_passes));
  w.One("agora_allocation_last_seconds", "gauge", "Duration of the last allocation pass.",
        absl::ToDoubleSeconds(s.last_allocation_time));
  w.One("agora_registry_commits_total", "counter", "Registry group commits.",
        double(s.registry_commits));
  if (transport != nullptr) w.Socket("agora", *transport);
  return w.Take();
}

}  // namespace agora::master
