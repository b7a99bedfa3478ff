// Domain types for tasks, shared by the master, the agent, the executor and
// the SDK: what a task is (TaskSpec), its lifecycle (TaskState) and one
// report of it (TaskStatus). Plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agora/resources.h"

namespace agora {

// STAGING -> STARTING -> RUNNING -> FINISHED | FAILED | KILLED | ERROR, plus
// LOST, UNREACHABLE, GONE, DROPPED. KILLING is the transient state of a task
// that was asked to stop. Values match wire::TaskState.
enum class TaskState {
  kStaging = 0,
  kStarting,
  kRunning,
  kFinished,
  kFailed,
  kKilled,
  kError,
  kLost,
  kUnreachable,
  kGone,
  kDropped,
  kKilling,
};

inline constexpr int kTaskStateCount = static_cast<int>(TaskState::kKilling) + 1;

// Terminal states never change again (UNREACHABLE is not terminal: the agent
// may come back with the task still running).
bool IsTerminal(TaskState state);
// Lower-case name as the CLI and JSON show it: "running".
absl::string_view TaskStateName(TaskState state);

using Env = std::vector<std::pair<std::string, std::string>>;

// A check the executor runs against its task; see wire::HealthCheck.
struct HealthCheck {
  enum class Kind { kNone, kCommand, kHttp, kTcp };
  Kind kind = Kind::kNone;
  std::string command;  // kCommand
  uint32_t port = 0;    // kHttp, kTcp: on 127.0.0.1
  std::string path = "/";  // kHttp
  absl::Duration interval = absl::Seconds(10);
  absl::Duration timeout = absl::Seconds(5);
  absl::Duration grace_period = absl::Seconds(30);
  int max_failures = 3;
  bool operator==(const HealthCheck&) const = default;
};

struct TaskSpec {
  std::string task_id;
  std::string name;
  std::string command;
  Resources resources;
  Env env;
  std::vector<std::string> port_names;
  absl::Duration kill_grace_period = absl::ZeroDuration();  // zero: agent default
  HealthCheck health_check;
  // Written into the sandbox before the command starts: relative path (no
  // `..`, no leading `/`) -> content. At most kMaxTaskFileBytes in all.
  Env files;
  // The user to run as; empty: the agent's --task_user (see agent/task_user.h).
  std::string user;
  // Processes and threads the task may have at once; 0: the agent's
  // --task_pids_max. Above the agent's --task_pids_max_allowed it is refused.
  uint32_t pids_max = 0;
};

inline constexpr size_t kMaxTaskFileBytes = 1 << 20;

// Bounds on every task, held by the frameworks when a spec is submitted and
// by the master when a task is launched. A command is one argument of
// /bin/sh -c, so Linux caps it at 128 KiB anyway (MAX_ARG_STRLEN).
inline constexpr size_t kMaxCommandBytes = 64 * 1024;
inline constexpr size_t kMaxEnvVars = 512;
inline constexpr size_t kMaxEnvBytes = 64 * 1024;  // names and values together
inline constexpr absl::Duration kMinHealthCheckInterval = absl::Milliseconds(100);
inline constexpr absl::Duration kMinHealthCheckTimeout = absl::Milliseconds(10);

// InvalidArgument naming the bound `spec` breaks first: its command or name
// size, its environment (count, bytes, names with '=' or empty), its health
// check's interval and timeout.
absl::Status ValidateTaskBounds(const TaskSpec& spec);
// The same for an environment alone ("env" names it in messages).
absl::Status ValidateEnvBounds(const Env& env, absl::string_view what);

// InvalidArgument naming the first file of `spec.files` that could escape
// the sandbox, clash (duplicates, `stdout`, `stderr`) or overflow the limit.
absl::Status ValidateTaskFiles(const TaskSpec& spec);
// InvalidArgument unless `spec.user` is empty or a plausible user name
// ([a-z_][a-z0-9_.-]*, at most 32 characters).
absl::Status ValidateTaskUser(const TaskSpec& spec);

// What a running task uses; see wire::TaskUsage.
struct TaskUsage {
  std::string framework_id;
  std::string task_id;
  double cpus = 0;         // cpu-seconds per second, over the last interval
  uint64_t mem_bytes = 0;  // in use now
};

struct TaskStatus {
  std::string task_id;
  std::string framework_id;
  std::string agent_id;
  TaskState state = TaskState::kStaging;
  std::string uuid;  // empty for master-generated updates, which need no ack
  std::string message;
  std::string reason;
  int32_t exit_code = 0;
  std::optional<bool> healthy;
  absl::Time timestamp = absl::UnixEpoch();
};

}  // namespace agora
