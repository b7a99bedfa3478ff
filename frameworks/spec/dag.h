// Dependency graphs of named nodes (batch jobs, services): cycle detection
// that names the cycle, and a dependencies-first order. Pure functions.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace agora::spec {

struct DagNode {
  std::string name;
  std::vector<std::string> depends_on;  // names of other nodes; others are ignored
};

// InvalidArgument "FIELD: dependency cycle a -> c -> b -> a" for the first
// cycle found, FIELD being `field_of(i)` for the node that closes it.
absl::Status CheckAcyclic(const std::vector<DagNode>& nodes,
                          const std::function<std::string(int)>& field_of);

// Node indices, every node after its dependencies; stable (input order among
// independent nodes). Precondition: acyclic.
std::vector<int> DependenciesFirst(const std::vector<DagNode>& nodes);

}  // namespace agora::spec
