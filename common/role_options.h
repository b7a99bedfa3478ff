// The operator's say over roles: DRF weights and quota caps, as the
// master's flags give them (`--weights services=3,batch=1`, `--quota
// services=cpus:8;mem:16384` once per role) and `agora role set` changes
// them (Mesos' --weights and quota).
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agora/resources.h"

namespace agora {

struct RoleOptions {
  std::map<std::string, double> weights;    // absent: 1
  std::map<std::string, Resources> quotas;  // absent: no cap (see ParseQuota)
};

// "ROLE=WEIGHT,...": weights are positive numbers; a role named twice is an
// error. Errors name the offending part.
absl::Status ParseRoleWeights(absl::string_view text, RoleOptions* out);
// "ROLE=QUOTA" (see ParseQuota), once per role.
absl::Status ParseRoleQuota(absl::string_view text, RoleOptions* out);

// A cap: "cpus:8;mem:16384" (cpus, mem, disk; no ports). A scalar the text
// does not name is Resources::kMaxScalar: not capped.
absl::StatusOr<Resources> ParseQuota(absl::string_view text);
// A weight: a finite number above zero.
absl::Status ValidateWeight(absl::string_view role, double weight);

}  // namespace agora
