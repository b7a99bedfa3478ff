// The operator's say over roles, from the master's flags: DRF weights
// (`--weights services=3,batch=1`) and quota caps (`--quota
// services=cpus:8;mem:16384`, once per role), as Mesos' --weights and quota.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/resources.h"

namespace agora::master {

struct RoleOptions {
  std::map<std::string, double> weights;    // absent: 1
  // Absent: no cap. A scalar the flag did not name is Resources::kMaxScalar
  // (no cap on it either).
  std::map<std::string, Resources> quotas;
};

// "ROLE=WEIGHT,...": weights are positive numbers; a role named twice is an
// error. Errors name the offending part.
absl::Status ParseRoleWeights(absl::string_view text, RoleOptions* out);
// "ROLE=RESOURCES" (cpus, mem, disk; no ports), once per role; the scalars
// it does not name are not capped.
absl::Status ParseRoleQuota(absl::string_view text, RoleOptions* out);

}  // namespace agora::master
