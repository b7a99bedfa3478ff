// What each isolation step costs per task: one `/bin/sh -c true` spawned the
// way the executor spawns tasks (executor/spawn.h) and reaped, with the steps
// added one at a time. Needs root (user switch, cgroups, namespaces).
//
//   sudo build/bench/spawn_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only
//
// `system_cpu_us` is the cpu every core spent per task (/proc/stat): the
// kernel's work on other threads (namespace and cgroup teardown) included.
//
//   BM_Spawn/0  plain: clone(CLONE_VM|CLONE_VFORK), exec /bin/sh -c true
//   BM_Spawn/1  + the task's own uid (setgroups/setresgid/setresuid) and
//               no_new_privs (the bounding set is emptied once, as the
//               executor does at start)
//   BM_Spawn/2  + cgroups: memory, cpu and pids, from the executor's pool
//               (agent/cgroups.h), joined, given back
//   BM_Spawn/3  + namespaces: pid, mount (own /proc, /tmp, /dev/shm), ipc,
//               uts, no capabilities, agora-init as pid 1 (the default)
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "agent/cgroups.h"
#include "agent/executor/spawn.h"

namespace agora::agent {
namespace {

// Busy time of all cores so far, in microseconds (/proc/stat).
double BusyMicros() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user, nice, system, idle, iowait, irq, softirq, steal;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return (user + nice + system + irq + softirq + steal) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

void BM_Spawn(benchmark::State& state) {
  if (::geteuid() != 0) return state.SkipWithError("needs root");
  // As the executor does at start (unless root tasks are allowed).
  if (!DropCapabilityBoundingSet().ok()) return state.SkipWithError("cannot empty the bounding set");
  const int steps = static_cast<int>(state.range(0));
  const std::string dir = "/var/lib/agora-spawn-bench";
  std::filesystem::create_directories(dir + "/tmp");
  ::chown(dir.c_str(), 200000, 200000);
  ::chown((dir + "/tmp").c_str(), 200000, 200000);
  const int cgroup_version = DetectCgroupVersion();
  if (steps >= 2 && cgroup_version == 0) return state.SkipWithError("no cgroups here");
  SpawnSpec spec;
  spec.command = "true";
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.dir = dir;
  if (steps >= 1) spec.user = RunAs{200000, 200000, {}};
  if (steps >= 3) {
    spec.isolate = true;
    spec.init = std::string(AGORA_BIN_DIR) + "/agora-init";
    spec.tmp_dir = dir + "/tmp";
  }
  int64_t n = 0;
  auto pool = std::make_unique<CgroupPool>("spawn-bench");
  const double busy_before = BusyMicros();
  for (auto _ : state) {
    TaskCgroup cgroup;
    if (steps >= 2) {
      auto made = pool->Acquire(cgroup_version, absl::StrCat("t", n++), {64 << 20, 102, 4096});
      if (!made.ok()) return state.SkipWithError(std::string(made.status().message()).c_str());
      cgroup = *std::move(made);
      spec.cgroup_procs = cgroup.procs_files();
    }
    auto pid = Spawn(spec);
    if (!pid.ok()) return state.SkipWithError(std::string(pid.status().message()).c_str());
    int status = 0;
    ::waitpid(*pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return state.SkipWithError("the task failed");
    pool->Release(std::move(cgroup));
  }
  pool.reset();  // the cgroups given back are kept or gone
  state.counters["system_cpu_us"] = (BusyMicros() - busy_before) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Spawn)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace agora::agent

BENCHMARK_MAIN();
