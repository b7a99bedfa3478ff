// Checkpointer keeps what the agent launched under WORK_DIR/meta, so that an
// agent restarted after a crash finds its executors and tasks again: every
// executor, and every task with its spec, state, sandbox and the status
// updates not yet acknowledged.
//
// Storage is one append-only journal of length-prefixed Cap'n Proto records
// (a put or a removal each), written with one write() per change: no file is
// created or renamed per task, which on ext4 costs more than the task itself.
// When most records are dead the journal is compacted (live state written to
// a new file, renamed over the old). A crash mid-append leaves a torn last
// record, which Load() ignores. Writes are not fsynced: they survive an agent
// crash, not a machine crash. Agent loop only.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <capnp/common.h>
#include <kj/array.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "agora/task.h"

namespace agora::agent {

struct ExecutorCheckpoint {
  std::string framework_id;
  std::string executor_id;
  int pid = 0;
};

// Everything the agent must remember of a task across its own restart.
struct TaskCheckpoint {
  std::string framework_id;
  TaskSpec spec;
  TaskState state = TaskState::kStaging;
  std::string executor_id;
  std::string sandbox;
  std::string run_id;  // this run of the task id (it may run again, later)
  Env env;
  std::deque<TaskStatus> pending;  // not yet acknowledged; the head is in flight
};

struct Checkpoints {
  std::vector<ExecutorCheckpoint> executors;
  std::vector<TaskCheckpoint> tasks;
};

class Checkpointer {
 public:
  explicit Checkpointer(std::string meta_dir);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Reads the journal (once, before any write) and opens it for appending.
  Checkpoints Load();

  void SaveExecutor(const ExecutorCheckpoint& executor);
  void RemoveExecutor(const std::string& executor_id);
  // Unavailable when the journal could not be written (a full disk): the
  // caller must not act on what it could not record.
  [[nodiscard]] absl::Status SaveTask(const TaskCheckpoint& task);
  void RemoveTask(const std::string& framework_id, const std::string& task_id);

  size_t journal_records() const { return journal_records_; }
  uint64_t failures() const { return failures_; }  // writes that failed
  // Why the latest write failed; empty once a task could be saved again.
  const std::string& last_error() const { return last_error_; }

 private:
  // Appends one record; `key` names the entity, `words` its put or removal.
  // A record that could not be written whole is cut off again.
  absl::Status Append(const std::string& key, kj::Array<capnp::word> words, bool removal);
  void Compact();
  void OpenForAppend();

  std::string path_;
  int fd_ = -1;
  size_t journal_records_ = 0;
  uint64_t failures_ = 0;
  std::string last_error_;
  // The latest put of every live entity, to write when compacting.
  absl::flat_hash_map<std::string, kj::Array<capnp::word>> live_;
};

// What an executor recorded when a task ended: the agent's source for tasks
// that ended while it was down. Records are lines appended to one file per
// executor (EXECUTOR_DIR/exits), one write() each.
struct ExitRecord {
  TaskState state = TaskState::kFailed;
  int exit_code = 0;
  std::string message;
  std::string reason;
};
void AppendExitRecord(const std::string& executor_dir, const std::string& task_id,
                      const ExitRecord& record);
// The last record of each task in `executor_dir` (torn lines are skipped).
absl::flat_hash_map<std::string, ExitRecord> ReadExitRecords(const std::string& executor_dir);

}  // namespace agora::agent
