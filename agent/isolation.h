// Whether this machine can isolate tasks: the agent, as root, probes once at
// start that a child can make the namespaces every isolated task gets (pid,
// mount, ipc, uts) and mount its own /proc there.
#pragma once

#include "absl/status/status.h"

namespace agora::agent {

// OK, or why tasks cannot be isolated here (not root, no namespaces, ...).
absl::Status ProbeIsolation();

}  // namespace agora::agent
