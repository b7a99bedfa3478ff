// Checkpointer keeps what the agent launched under WORK_DIR/meta, so that an
// agent restarted after a crash finds its executors and tasks again: one file
// per executor and one per task (its spec, state, sandbox and the status
// updates not yet acknowledged). Every write replaces the file atomically
// (write, then rename); a crash mid-write leaves the previous version.
// Agent loop only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/task.h"

namespace agora::agent {

struct ExecutorCheckpoint {
  std::string framework_id;
  std::string executor_id;
  int pid = 0;
};

struct TaskCheckpoint {
  std::string framework_id;
  TaskSpec spec;
  TaskState state = TaskState::kStaging;
  std::string executor_id;
  std::string sandbox;
  Env env;
  std::vector<TaskStatus> pending;
};

struct Checkpoints {
  std::vector<ExecutorCheckpoint> executors;
  std::vector<TaskCheckpoint> tasks;
};

class Checkpointer {
 public:
  explicit Checkpointer(std::string meta_dir);

  void SaveExecutor(const ExecutorCheckpoint& executor);
  void RemoveExecutor(const std::string& executor_id);
  void SaveTask(const TaskCheckpoint& task);
  void RemoveTask(const std::string& framework_id, const std::string& task_id);
  // Everything saved and not removed; unreadable files are skipped (logged).
  Checkpoints Load() const;

 private:
  std::string TaskPath(const std::string& framework_id, const std::string& task_id) const;
  std::string meta_dir_;
};

// What an executor wrote into a task's sandbox when the task ended: the
// agent's source for tasks that ended while it was down.
struct ExitRecord {
  TaskState state = TaskState::kFailed;
  int exit_code = 0;
  std::string message;
  std::string reason;
};
void WriteExitRecord(const std::string& sandbox, const ExitRecord& record);
std::optional<ExitRecord> ReadExitRecord(const std::string& sandbox);

}  // namespace agora::agent
