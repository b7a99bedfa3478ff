// The user a task runs as. The agent runs tasks as an unprivileged user
// (--task_user, default `nobody` when the agent is root; otherwise the
// agent's own user, the only one it can be). A task may name its user: the
// agent's task user, or root where the agent allows it (--allow_root_tasks);
// any other is refused with the reason. The executor switches to the user in
// the spawned child (executor/spawn.h), after it joined the task's cgroup and
// before exec.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace agora::agent {

struct TaskUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
  std::string home;           // its home directory when it has one, else empty
};

// Looks `name` up in the system's user database.
absl::StatusOr<TaskUser> ResolveTaskUser(const std::string& name);

// The agent's policy: its default task user, and whether tasks may ask for root.
struct TaskUserPolicy {
  TaskUser default_user;
  bool allow_root = false;
  bool can_switch = false;  // the agent runs as root: it can become another user
};
// `flag_user` empty: `nobody` when the agent is root, else the agent's user.
// A user other than the agent's own without root is an error.
absl::StatusOr<TaskUserPolicy> MakeTaskUserPolicy(const std::string& flag_user, bool allow_root);

// The user a task asking for `requested` (empty: the default) runs as, or
// PermissionDenied saying why it may not run here.
absl::StatusOr<TaskUser> UserForTask(const TaskUserPolicy& policy, const std::string& requested);

// OK when `user` may pass through every directory from / down to `dir` (the
// search bit it has there as owner, group member or other): a task must
// reach its sandbox by path (a web server's os.getcwd(), `cd $PWD`). Else
// FailedPrecondition naming the first directory that stops it and how to
// open it. The agent checks its work dir at start.
absl::Status CheckReachable(const TaskUser& user, const std::string& dir);

}  // namespace agora::agent
