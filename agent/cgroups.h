// A task's cgroups: its memory (and cpu and pids) cgroup with limits, how it
// fared (OOM kills, accounting), and the pool that hands them out. Supports
// cgroup v2 when the unified hierarchy has the memory controller, else v1
// (memory, cpu and pids hierarchies under /sys/fs/cgroup/<controller>). Needs
// root.
//
// A task joins its cgroups from the spawned child (executor/spawn.h), by
// writing itself into procs_files() before it execs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
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

// What a task may use; 0: no limit (and, for pids, no pids cgroup).
struct CgroupLimits {
  uint64_t mem_bytes = 0;
  uint32_t cpu_shares = 0;
  uint32_t pids_max = 0;
  bool operator==(const CgroupLimits&) const = default;
};

class TaskCgroup {
 public:
  // Creates the cgroup "agora/<group>/<name>" with `limits` (a pids limit
  // needs the pids controller, else the creation fails). Fails when one of
  // that name exists: it would be another run's.
  static absl::StatusOr<TaskCgroup> Create(int version, const std::string& group,
                                           const std::string& name, const CgroupLimits& limits);
  TaskCgroup() = default;

  // The kernel's count of OOM kills in this cgroup since its task got it.
  uint64_t OomKills() const;
  // Accounting: cpu-seconds used so far (v2 cpu.stat, v1 cpuacct.usage) and
  // memory in use now (v2 memory.current, v1 memory.usage_in_bytes); each
  // nullopt when this cgroup does not account it.
  std::optional<double> CpuSeconds() const;
  std::optional<uint64_t> MemoryBytes() const;
  // Kills whatever is left in the cgroup and removes it. Idempotent.
  void Destroy();
  uint64_t mem_limit_bytes() const { return limits_.mem_bytes; }
  // Removes the (empty) parent cgroup "agora/<group>" of every controller.
  static void RemoveGroup(int version, const std::string& group);
  bool valid() const { return !dirs_.empty(); }
  // The cgroup.procs files a process writes itself into to join.
  const std::vector<std::string>& procs_files() const { return procs_files_; }

 private:
  friend class CgroupPool;
  // Writes the limits that differ from the ones in force (all, when fresh).
  absl::Status Apply(const CgroupLimits& limits, bool fresh);
  // Renames the cgroup in every controller (v1 only: v2 cannot rename).
  absl::Status Rename(const std::string& name);
  // Kills what is left in it and sets its counters back, so that another
  // task can have it; false when it could not be emptied.
  bool Empty();
  // Which controllers a task with `limits` gets (bit per controller).
  static unsigned ControllersFor(int version, const CgroupLimits& limits);
  // The directory of `controller` (one of ControllersFor's bits, present).
  const std::string& DirOf(unsigned controller) const;

  int version_ = 0;
  unsigned controllers_ = 0;
  CgroupLimits limits_;
  uint64_t oom_kills_before_ = 0;      // of the tasks that had it before
  std::vector<std::string> dirs_;        // one per controller (one for v2)
  std::vector<std::string> procs_files_;  // <dir>/cgroup.procs
};

// SIGKILLs every process in the task cgroup "agora/<group>/<name>" of every
// controller (a task's processes cannot leave it, whatever they do to their
// process group, session or environment); returns how many it signalled.
int KillCgroupProcesses(int version, const std::string& group, const std::string& name);
// Removes what is left of the cgroups of `group` (an executor that is gone):
// every empty cgroup in it, then the group itself. True when none is left
// (false while processes, killed or not, are still in one).
bool RemoveLeftoverCgroups(int version, const std::string& group);

// CgroupPool hands out the cgroups of one executor's tasks. Making and
// removing a cgroup in three v1 hierarchies was the largest single cost of an
// isolated task (docs/benchmarks.md), so on v1 a finished task's cgroup is
// renamed at once (freeing the task id for its next run), emptied, and kept;
// the next task's is a kept one renamed to its id: a running task's cgroup is
// always named by its task id, and a cgroup is never shared. One is kept only
// once no process (zombies included) is left in it and under 1 MiB is still
// charged to it; else it is removed. Removal and emptying wait for the
// kernel, so they run on the pool's own thread. v2 cannot rename: there each
// task gets a new cgroup, and Acquire fails for a task id whose previous
// run's cgroup is not removed yet.
class CgroupPool {
 public:
  explicit CgroupPool(std::string group);
  // Finishes the cgroups still being released, removes the kept ones and
  // then the group.
  ~CgroupPool();
  CgroupPool(const CgroupPool&) = delete;
  CgroupPool& operator=(const CgroupPool&) = delete;

  // The cgroup "agora/<group>/<name>" with `limits`: a kept one when one
  // fits, else a new one.
  absl::StatusOr<TaskCgroup> Acquire(int version, const std::string& name, const CgroupLimits& limits);
  // Takes back a finished task's cgroup (invalid ones are ignored): kept
  // for the next task, or removed. Returns at once.
  void Release(TaskCgroup cgroup);

  // How many emptied cgroups wait for a task. Thread-safe.
  size_t kept() const;

  static constexpr size_t kMaxKept = 64;

 private:
  void Keep(TaskCgroup cgroup);  // on the pool's thread

  const std::string group_;
  int version_ = 0;  // of the cgroups handed out
  mutable std::mutex mu_;
  std::vector<TaskCgroup> kept_;  // guarded by mu_
  uint64_t kept_seq_ = 0;         // the caller's thread's
  std::unique_ptr<WorkerThread> worker_ = std::make_unique<WorkerThread>();
};

}  // namespace agora::agent
