// Master: the operator queries behind `agora agents|frameworks|tasks|offers`.
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/json_text.h"
#include "common/resources_json.h"
#include "common/version.h"
#include "master/master.h"

namespace agora::master {
namespace {

using nlohmann::json;

std::string Rfc3339(absl::Time t) {
  if (t == absl::Time()) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

json AttributesJson(const Env& attributes) {
  json out = json::object();
  for (const auto& [k, v] : attributes) out[k] = v;
  return out;
}

}  // namespace

absl::StatusOr<std::string> Master::QueryJson(absl::string_view query) const {
  json out = json::array();
  auto task_json = [&](const TaskRecord& t) {
    auto agent = agents_.find(t.agent_id);
    json j = {{"id", t.spec.task_id},
              {"name", t.spec.name},
              {"framework_id", t.framework_id},
              {"agent_id", t.agent_id},
              {"hostname", agent == agents_.end() ? "" : agent->second.hostname},
              {"state", std::string(TaskStateName(t.state))},
              {"resources", ResourcesJson(t.spec.resources)},
              {"command", t.spec.command},
              {"message", t.message},
              {"reason", t.reason},
              {"exit_code", t.exit_code},
              {"launched_at", Rfc3339(t.launched_at)},
              {"updated_at", Rfc3339(t.updated_at)}};
    if (t.healthy) j["healthy"] = *t.healthy;
    if (t.usage && !IsTerminal(t.state)) {
      j["usage"] = {{"cpus", t.usage->cpus}, {"mem_mb", static_cast<double>(t.usage->mem_bytes) / (1 << 20)}};
    }
    return j;
  };
  if (query == "agents") {
    for (const auto& [id, a] : agents_) {
      out.push_back({{"id", id},
                     {"hostname", a.hostname},
                     {"address", a.address},
                     {"drain_deadline", a.drain_deadline == absl::InfinitePast() || a.drain_deadline == absl::InfiniteFuture()
                                            ? json(nullptr)
                                            : json(Rfc3339(a.drain_deadline))},
                     {"state", std::string(AgentStateName(a.state))},
                     {"resources", ResourcesJson(a.total)},
                     {"used", ResourcesJson(a.used)},
                     {"attributes", AttributesJson(a.attributes)},
                     {"tasks", a.tasks.size()},
                     {"offers", a.offers.size()},
                     {"limits_enforced", a.limits_enforced},
                     {"cgroup_version", a.cgroup_version},
                     {"http", a.http_endpoint},
                     {"checkpoint_error", a.checkpoint_error},
                     {"registered_at", Rfc3339(a.registered_at)}});
    }
  } else if (query == "frameworks") {
    for (const auto& [id, f] : frameworks_) {
      size_t active = 0;
      for (const TaskId& t : f.tasks) {
        auto it = tasks_.find(TaskKey{id, t});
        active += it != tasks_.end() && !IsTerminal(it->second.state);
      }
      out.push_back({{"id", id},
                     {"name", f.name},
                     {"role", f.role},
                     {"state", std::string(FrameworkStateName(f.state))},
                     {"active_tasks", active},
                     {"offers", f.offers.size()},
                     {"suppressed", f.suppressed},
                     {"endpoint", f.endpoint},
                     {"failover_timeout_s", absl::ToDoubleSeconds(f.failover_timeout)},
                     {"subscribed_at", Rfc3339(f.subscribed_at)}});
    }
  } else if (query == "tasks") {
    for (const TaskRecord& t : completed_tasks_) out.push_back(task_json(t));
    for (const auto& [key, t] : tasks_) out.push_back(task_json(t));
  } else if (query == "offers") {
    for (const auto& [id, o] : offers_) {
      auto agent = agents_.find(o.agent_id);
      out.push_back({{"id", id},
                     {"framework_id", o.framework_id},
                     {"agent_id", o.agent_id},
                     {"hostname", agent == agents_.end() ? "" : agent->second.hostname},
                     {"resources", ResourcesJson(o.resources)},
                     {"created_at", Rfc3339(o.created)}});
    }
  } else if (query == "roles") {
    return RolesJson();
  } else if (query == "security") {
    return SecurityJson();
  } else if (query == "version") {
    return VersionJson("agora-master");
  } else if (query == "leader") {
    return LeadershipJson();
  } else if (query == "stats") {
    return JsonText(json{{"messages", stats_.messages},
                {"invalid_messages", stats_.invalid_messages},
                {"agents_registered", stats_.agents_registered},
                {"agents_reregistered", stats_.agents_reregistered},
                {"agents_expired", stats_.agents_expired},
                {"expiries_deferred", stats_.expiries_deferred},
                {"frameworks_subscribed", stats_.frameworks_subscribed},
                {"offers_sent", stats_.offers_sent},
                {"offers_declined", stats_.offers_declined},
                {"offers_rescinded", stats_.offers_rescinded},
                {"tasks_launched", stats_.tasks_launched},
                {"status_updates", stats_.status_updates},
                {"allocation_passes", stats_.allocation_passes},
                {"registry_commits", stats_.registry_commits},
                {"last_allocation_ms",
                 absl::ToDoubleMilliseconds(stats_.last_allocation_time)}});
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown query '", query, "' (known: agents, frameworks, tasks, offers, roles, stats, security, version)"));
  }
  return JsonText(out);
}

std::string Master::LeadershipJson() const {
  const absl::Time since = leadership_.zk.empty() ? started_at_ : leadership_.elected_at;
  json out = {{"mode", leadership_.zk.empty() ? "single" : "zookeeper"},
              {"registry", leadership_.zk.empty() ? (registry_ ? "sqlite" : "none") : "zookeeper"},
              {"http", http_endpoint_},
              {"leading_since", Rfc3339(since)}};
  if (!leadership_.zk.empty()) {
    out["zk"] = leadership_.zk;
    out["node"] = leadership_.node;
  }
  return JsonText(out);
}

}  // namespace agora::master
