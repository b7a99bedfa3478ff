// The user a task runs as. An agent that is root runs each framework's tasks
// under a uid of that framework's own (agent/uid_pool.h, --task_uids), unless
// the operator names one shared user (--task_user); an agent that is not root
// runs them as itself, the only user it can be. A task may name its user:
// the shared task user, or root where the agent allows it
// (--allow_root_tasks); any other is refused with the reason. The executor switches to the user in
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
  // --task_user; with per-framework uids, a stand-in with the range's first
  // uid (for CheckReachable) that no task runs as.
  TaskUser default_user;
  bool per_framework_uids = false;  // each framework its own uid (uid_pool.h)
  bool allow_root = false;
  bool can_switch = false;  // the agent runs as root: it can become another user
};
// `flag_user` empty: per-framework uids from `uid_range` when the agent is
// root, else the agent's user. A user other than the agent's own without root
// is an error.
absl::StatusOr<TaskUserPolicy> MakeTaskUserPolicy(const std::string& flag_user, bool allow_root,
                                                  uid_t first_framework_uid = 0);

// The user a task asking for `requested` (empty: the default) runs as, or
// PermissionDenied saying why it may not run here. `framework_user` is the
// framework's own user when uids are per framework.
absl::StatusOr<TaskUser> UserForTask(const TaskUserPolicy& policy, const std::string& requested,
                                     const TaskUser* framework_user = nullptr);

// The user of a framework's own uid (uid_pool.h): "agora-UID", gid = uid.
TaskUser FrameworkUser(uid_t uid);

// OK when `user` may pass through every directory from / down to `dir` (the
// search bit it has there as owner, group member or other): a task must
// reach its sandbox by path (a web server's os.getcwd(), `cd $PWD`). Else
// FailedPrecondition naming the first directory that stops it and how to
// open it. The agent checks its work dir at start.
absl::Status CheckReachable(const TaskUser& user, const std::string& dir);

}  // namespace agora::agent
