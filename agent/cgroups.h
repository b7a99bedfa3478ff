// Cgroups puts one task in its own memory (and cpu and pids) cgroup with limits, and
// tells afterwards whether the kernel OOM-killed it. Supports cgroup v2 when
// the unified hierarchy has the memory controller, else v1 (memory + cpu
// hierarchies under /sys/fs/cgroup/<controller>). Needs root.
//
// A task joins its cgroups from the spawned child (executor/spawn.h), by
// writing itself into procs_files() before it execs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/worker_thread.h"

namespace agora::agent {

// 0 when limits cannot be enforced (not root, or no usable memory controller).
int DetectCgroupVersion();
// Whether cgroups of `version` can limit pids here.
bool HasPidsController(int version);

class TaskCgroup {
 public:
  // Creates the cgroup "agora/<group>/<name>" and sets its limits (0: none;
  // a pids limit needs the pids controller, else the creation fails).
  static absl::StatusOr<TaskCgroup> Create(int version, const std::string& group,
                                           const std::string& name, uint64_t mem_limit_bytes,
                                           uint32_t cpu_shares, uint32_t pids_max = 0);
  TaskCgroup() = default;

  // The kernel's count of OOM kills in this cgroup.
  uint64_t OomKills() const;
  // Accounting: cpu-seconds used so far (v2 cpu.stat, v1 cpuacct.usage) and
  // memory in use now (v2 memory.current, v1 memory.usage_in_bytes); each
  // nullopt when this cgroup does not account it.
  std::optional<double> CpuSeconds() const;
  std::optional<uint64_t> MemoryBytes() const;
  // Kills whatever is left in the cgroup and removes it. Idempotent.
  void Destroy();
  uint64_t mem_limit_bytes() const { return mem_limit_bytes_; }
  // Removes the (empty) parent cgroup "agora/<group>" of every controller.
  static void RemoveGroup(int version, const std::string& group);
  bool valid() const { return !dirs_.empty(); }
  // The cgroup.procs files a process writes itself into to join.
  const std::vector<std::string>& procs_files() const { return procs_files_; }

 private:
  int version_ = 0;
  uint64_t mem_limit_bytes_ = 0;
  std::vector<std::string> dirs_;        // one per controller (one for v2)
  std::vector<std::string> procs_files_;  // <dir>/cgroup.procs
};

// SIGKILLs every process in the task cgroup "agora/<group>/<name>" of every
// controller (a task's processes cannot leave it, whatever they do to their
// process group, session or environment); returns how many it signalled.
int KillCgroupProcesses(int version, const std::string& group, const std::string& name);

// CgroupReaper destroys finished tasks' cgroups on its own thread. Removing a
// cgroup waits for the kernel (an RCU grace period: milliseconds, little CPU),
// and done inline it would stall the executor's loop once per task. Reap() is
// thread-safe; the destructor finishes the queue, then joins.
class CgroupReaper {
 public:
  void Reap(TaskCgroup cgroup) {
    if (cgroup.valid()) worker_.Post([cgroup]() mutable { cgroup.Destroy(); });
  }

 private:
  WorkerThread worker_;
};

}  // namespace agora::agent
