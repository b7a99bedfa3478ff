// Agent: the /state and /metrics bodies of its HTTP endpoint.
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "agent/agent.h"
#include "common/metrics_writer.h"

namespace agora::agent {

std::string Agent::StateJson() const {
  using nlohmann::json;
  json tasks = json::array();
  for (const auto& [key, t] : tasks_) {
    tasks.push_back({{"id", key.second},
                     {"framework_id", key.first},
                     {"state", std::string(TaskStateName(t.state))},
                     {"executor_id", t.executor_id},
                     {"sandbox", t.sandbox},
                     {"pending_updates", t.pending.size()}});
  }
  json executors = json::array();
  for (const auto& [id, e] : executors_) {
    executors.push_back({{"id", id},
                         {"framework_id", e.framework_id},
                         {"pid", e.pid},
                         {"registered", e.registered},
                         {"adopted", e.adopted},
                         {"tasks", e.active.size()}});
  }
  json attributes = json::object();
  for (const auto& [k, v] : options_.attributes) attributes[k] = v;
  return json{{"id", agent_id_},
              {"hostname", options_.hostname},
              {"registered", registered_},
              {"master", options_.master},
              {"resources", options_.resources.ToString()},
              {"attributes", attributes},
              {"limits_enforced", options_.cgroup_version != 0},
              {"tasks", tasks},
              {"executors", executors}}
      .dump();
}

std::string Agent::MetricsText() const {
  MetricsWriter w;
  std::array<size_t, kTaskStateCount> by_state{};
  size_t pending = 0;
  for (const auto& [key, t] : tasks_) {
    ++by_state[static_cast<int>(t.state)];
    pending += t.pending.size();
  }
  w.ByTaskState("agora_agent_tasks", "Tasks on this agent, by state.", by_state);
  w.One("agora_agent_pending_updates", "gauge", "Status updates not yet acknowledged.",
        double(pending));
  w.One("agora_agent_executors", "gauge", "Live executors.", double(executors_.size()));
  w.One("agora_agent_registered", "gauge", "1 while registered with the master.",
        registered_ ? 1 : 0);
  w.Counters({
      {"agora_agent_tasks_launched_total", "Tasks received.", stats_.tasks_launched},
      {"agora_agent_updates_sent_total", "Status updates sent.", stats_.updates_sent},
      {"agora_agent_updates_resent_total", "Status updates resent.", stats_.updates_resent},
      {"agora_agent_executors_started_total", "Executors started.", stats_.executors_started},
      {"agora_agent_executors_lost_total", "Executors that died with tasks.",
       stats_.executors_lost},
      {"agora_agent_bad_messages_total", "Unexpected or invalid messages.", stats_.bad_messages},
  });
  if (master_) w.Socket("agora_agent_master", master_->stats());
  if (executors_socket_) w.Socket("agora_agent_executor", executors_socket_->stats());
  return w.Take();
}

}  // namespace agora::agent
