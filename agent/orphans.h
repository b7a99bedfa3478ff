// Finds and kills the processes of a task whose executor is gone.
//
// Every task process, and every process it starts, carries the task's unique
// sandbox path in AGORA_SANDBOX. When an executor dies (killed, crashed, or
// gone with its agent), nothing is left to reap or signal its tasks; the
// agent then sweeps /proc for processes with that sandbox and kills them, so
// that no task keeps running unknown to everyone. A process that cleared its
// environment escapes the sweep (its task's cgroup, when it has one, still
// holds it). Needs permission to read the tasks' /proc/PID/environ (the
// agent's own user, or root). Agent loop; blocking but short (a /proc scan).
#pragma once

#include <string>

namespace agora::agent {

// SIGKILLs every process whose environment has AGORA_SANDBOX=`sandbox`;
// returns how many it signalled.
int KillSandboxProcesses(const std::string& sandbox);

}  // namespace agora::agent
