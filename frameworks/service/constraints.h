// Placement constraints (Marathon's operators) for one service's instances:
// may a new instance go on this agent, given where the others run? Pure
// functions; "field" is `hostname` or an agent attribute.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agora/task.h"
#include "frameworks/service/service_spec.h"

namespace agora::service {

struct AgentView {
  std::string agent_id;
  std::string hostname;
  Env attributes;
  std::string address;  // IP address its tasks' ports are reached at
};

// The agent's value for `field`, if it has one.
std::optional<std::string> FieldValue(const AgentView& agent, const std::string& field);

// OK when an instance may go on `candidate`; otherwise FailedPrecondition
// saying which constraint forbids it ("[hostname, UNIQUE]: dev-agent-1
// already runs one"). `placed` are the agents of the instances already
// running or launching; `known` every agent seen (for GROUP_BY's groups).
absl::Status CheckConstraints(const std::vector<Constraint>& constraints, const AgentView& candidate,
                              const std::vector<AgentView>& placed,
                              const std::vector<AgentView>& known);

}  // namespace agora::service
