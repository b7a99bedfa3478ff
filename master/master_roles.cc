// Master: roles. Operators set weights and quota caps with the master's
// flags or, at run time, with `agora role set` (kept in the registry, winning
// over the flags); `agora roles` lists them with what each role holds.
#include <map>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/json_text.h"
#include "common/log.h"
#include "common/wire_convert.h"
#include "master/master.h"

namespace agora::master {
namespace {

using nlohmann::json;

json ScalarsJson(const Resources& r) {
  return {{"cpus", r.cpus()}, {"mem", r.mem()}, {"disk", r.disk()}};
}

}  // namespace

void Master::ApplyRoles() {
  for (const auto& [role, weight] : options_.roles.weights) allocator_->SetRoleWeight(role, weight);
  for (const auto& [role, limit] : options_.roles.quotas) allocator_->SetRoleQuota(role, limit);
}

void Master::RecoverRoles(const std::vector<RegistryRole>& roles) {
  for (const RegistryRole& r : roles) {
    options_.roles.weights[r.name] = r.weight;
    if (r.quota) {
      options_.roles.quotas[r.name] = *r.quota;
    } else {
      options_.roles.quotas.erase(r.name);
    }
  }
}

void Master::OnOperatorRole(const PeerId& peer, uint64_t rid, wire::OperatorRole::Reader msg) {
  const std::string role = msg.getRole();
  if (absl::Status s = ValidateName("role", role); !s.ok()) {
    return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT, s.message());
  }
  RegistryRole entry{role, 1, std::nullopt};
  if (auto w = options_.roles.weights.find(role); w != options_.roles.weights.end()) entry.weight = w->second;
  if (auto q = options_.roles.quotas.find(role); q != options_.roles.quotas.end()) entry.quota = q->second;
  if (msg.getWeight() != 0) {
    if (absl::Status s = ValidateWeight(role, msg.getWeight()); !s.ok()) {
      return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT, s.message());
    }
    entry.weight = msg.getWeight();
  }
  switch (msg.getQuota()) {
    case wire::OperatorRole::QuotaAction::KEEP:
      break;
    case wire::OperatorRole::QuotaAction::REMOVE:
      entry.quota.reset();
      break;
    case wire::OperatorRole::QuotaAction::SET: {
      const Resources limit = FromWire(msg.getLimit());
      if (!limit.ports().empty() || limit.empty()) {
        return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT,
                         absl::StrCat("quota of role '", role,
                                      "': cap cpus, mem or disk (ports cannot be capped)"));
      }
      entry.quota = limit;
      break;
    }
  }
  options_.roles.weights[role] = entry.weight;
  allocator_->SetRoleWeight(role, entry.weight);
  if (entry.quota) {
    options_.roles.quotas[role] = *entry.quota;
  } else {
    options_.roles.quotas.erase(role);
  }
  allocator_->SetRoleQuota(role, entry.quota.value_or(Resources()));
  if (registry_ != nullptr) {
    registry_->PutRole(entry);
    transport_.Hold();  // the OK leaves once the change is durable
  }
  AGORA_LOG(INFO, "master") << "operator sets role " << role << ": weight " << entry.weight
                            << (entry.quota ? ", quota " + entry.quota->ToString() : ", no quota");
  SendOk(peer, rid);
}

std::string Master::RolesJson() const {
  // Every role configured or in use, by name: its weight and cap, and what
  // its frameworks hold (tasks not yet terminal) and are offered.
  struct Row {
    size_t frameworks = 0;
    Resources used, offered;
  };
  std::map<std::string, Row> rows;
  for (const auto& [role, weight] : options_.roles.weights) rows[role];
  for (const auto& [role, limit] : options_.roles.quotas) rows[role];
  for (const auto& [id, f] : frameworks_) {
    Row& row = rows[f.role];
    ++row.frameworks;
    for (const TaskId& t : f.tasks) {
      auto it = tasks_.find(TaskKey{id, t});
      if (it != tasks_.end() && !IsTerminal(it->second.state)) row.used += it->second.spec.resources;
    }
  }
  for (const auto& [id, o] : offers_) {
    auto f = frameworks_.find(o.framework_id);
    if (f != frameworks_.end()) rows[f->second.role].offered += o.resources;
  }
  json out = json::array();
  for (const auto& [role, row] : rows) {
    auto weight = options_.roles.weights.find(role);
    auto quota = options_.roles.quotas.find(role);
    json cap = nullptr;  // per scalar: null when not capped
    if (quota != options_.roles.quotas.end()) {
      cap = json::object();
      auto limit = [](double v) { return v >= Resources::kMaxScalar ? json(nullptr) : json(v); };
      cap["cpus"] = limit(quota->second.cpus());
      cap["mem"] = limit(quota->second.mem());
      cap["disk"] = limit(quota->second.disk());
    }
    out.push_back({{"name", role},
                   {"weight", weight == options_.roles.weights.end() ? 1.0 : weight->second},
                   {"quota", cap},
                   {"frameworks", row.frameworks},
                   {"used", ScalarsJson(row.used)},
                   {"offered", ScalarsJson(row.offered)}});
  }
  return JsonText(out);
}

}  // namespace agora::master
