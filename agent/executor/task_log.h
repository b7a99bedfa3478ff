// TaskLog keeps what a task prints on one stream (stdout or stderr): the
// executor reads the task's pipe and writes SANDBOX/NAME, rotated by size
// into NAME.1 ... NAME.(max_files - 1), the oldest dropped, so a chatty task
// cannot fill its agent's disk and its output survives up to
// max_bytes * max_files. Readers follow across a rotation: the file they read
// becomes NAME.1 (agora logs reads its end there, then NAME from the start).
//
// The executor is root and the sandbox is the task's, which may replace any
// name in it at any moment: every file is opened through the sandbox's
// handle (agent/sandbox_files.h: no symlink, no `..`, regular files with one
// name only), created O_EXCL and handed to the task's user; renames move
// names and never follow them. When a rotation fails (the task put a
// directory where the next file goes) or the disk is full, output is
// dropped and counted until there is room again: the log never grows past
// its files, and a file the task deleted under it is replaced by a new one.
//
// Loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "agent/executor/spawn.h"
#include "common/unique_fd.h"

namespace agora::agent {

struct TaskLogLimits {
  uint64_t max_bytes = 10 << 20;  // per file
  int max_files = 5;              // NAME and NAME.1 .. NAME.4
};

class TaskLog {
 public:
  // Appends to SANDBOX/NAME (made if missing) beneath `sandbox`, a handle the
  // log keeps a duplicate of. `owner`: who new files belong to (none: root).
  static absl::StatusOr<std::unique_ptr<TaskLog>> Open(int sandbox, std::string name,
                                                       TaskLogLimits limits, std::optional<RunAs> owner);

  // Moves what `pipe` holds now (non-blocking) into the log. False once the
  // pipe has ended (every writer closed it) or failed.
  bool Pump(int pipe);
  uint64_t rotations() const { return rotations_; }
  uint64_t failed_rotations() const { return failed_rotations_; }
  uint64_t dropped_bytes() const { return dropped_bytes_; }  // not written: no room

 private:
  TaskLog() = default;
  absl::Status OpenCurrent(bool create);
  void Rotate();
  void Failed(const std::string& why);  // counts, and logs now and then
  void Write(const char* data, size_t size);

  UniqueFd dir_;
  std::string name_;
  TaskLogLimits limits_;
  std::optional<RunAs> owner_;
  UniqueFd file_;
  uint64_t size_ = 0;  // of the current file, as far as this log wrote it
  uint64_t rotations_ = 0;
  uint64_t failed_rotations_ = 0;
  uint64_t dropped_bytes_ = 0;
};

}  // namespace agora::agent
