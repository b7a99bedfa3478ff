// Finds and kills the processes of a task whose executor is gone.
//
// Every task process, and every process it starts, carries the task's unique
// sandbox path in AGORA_SANDBOX. When an executor dies (killed, crashed, or
// gone with its agent), nothing is left to reap or signal its tasks; the
// agent kills them by their cgroup (agent/cgroups.h, KillCgroupProcesses);
// without cgroups it sweeps /proc for processes with that sandbox and kills
// them, so that no task keeps running unknown to everyone. A process that
// cleared its environment escapes this sweep, but not an isolated task's pid
// namespace: killing its init ends it. Needs permission to read the tasks' /proc/PID/environ (the
// agent's own user, or root). Agent loop; blocking but short (a /proc scan).
#pragma once

#include <string>

namespace agora::agent {

// SIGKILLs every process whose environment has AGORA_SANDBOX=`sandbox`;
// returns how many it signalled.
int KillSandboxProcesses(const std::string& sandbox);

}  // namespace agora::agent
