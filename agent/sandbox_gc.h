// SandboxGc removes what finished tasks left on disk, as Mesos' --gc_delay
// does: a sandbox (WORK_DIR/frameworks/FW/tasks/TASK, and earlier runs beside
// it) is kept for the delay after it was last written, shortened as the work
// dir's disk fills: the allowed age is delay x max(0, 1 - headroom - used
// share). Sandboxes of live tasks are never touched, nor is anything else.
// Executors' directories (their exit records) go the same way once their
// executor is gone. Removal runs on its own thread (deleting trees waits on
// the disk); Collect() returns at once. The agent calls it every hour.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"

namespace agora::agent {

struct SandboxGcOptions {
  std::string work_dir;
  absl::Duration delay = absl::Hours(24 * 7);
  double disk_headroom = 0.1;  // of the disk, kept free before ages shrink
};

struct SandboxGcStats {
  uint64_t passes = 0;
  uint64_t removed = 0;
};

// The age a finished sandbox may reach with `used` share of the disk taken.
absl::Duration AllowedSandboxAge(const SandboxGcOptions& options, double used);

// One pass on the calling thread: removes every sandbox (and executor
// directory) under the work dir older than `max_age` at `now` and not in
// `keep` (absolute paths). Returns how many it removed.
int CollectSandboxes(const std::string& work_dir, const absl::flat_hash_set<std::string>& keep,
                     absl::Duration max_age, absl::Time now);

class SandboxGc {
 public:
  explicit SandboxGc(SandboxGcOptions options);
  ~SandboxGc();
  SandboxGc(const SandboxGc&) = delete;
  SandboxGc& operator=(const SandboxGc&) = delete;

  // Queues a pass that keeps `keep` (live tasks' sandboxes, live executors'
  // directories). Thread-safe.
  void Collect(absl::flat_hash_set<std::string> keep);
  SandboxGcStats stats() const;

 private:
  void Run();

  SandboxGcOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<absl::flat_hash_set<std::string>> passes_;
  SandboxGcStats stats_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agora::agent
