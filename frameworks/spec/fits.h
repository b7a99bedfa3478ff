// Whether any agent could ever hold a task's resources: the check both
// frameworks make before accepting a spec. Pure function.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agora/resources.h"

namespace agora::spec {

// OK when some agent's total contains `ask`, or when `agents` is empty (an
// unknown cluster rejects nothing). Otherwise InvalidArgument "FIELD: no
// agent could ever hold it (cpus: asked 64, have 8 on the largest agent)".
absl::Status CheckSomeAgentHolds(const Resources& ask, const std::vector<Resources>& agents,
                                 absl::string_view field);

}  // namespace agora::spec
