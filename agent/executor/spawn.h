// Spawn starts a task's `/bin/sh -c COMMAND` (or a health check's) the way
// posix_spawn does, with clone(CLONE_VM | CLONE_VFORK): the executor's address
// space is neither copied nor torn down again at exec. With ZeroMQ's threads
// and their memory, fork() + exec cost the executor more CPU than the task
// `true` itself (perf: copy_page_range, exit_mmap and COW faults were half of
// it); this is the physical limit of batch throughput, so it matters.
//
// The child shares the executor's memory until it execs, so it makes only
// plain system calls on data prepared beforehand: default signal handling and
// an empty mask, a new session, stdin from /dev/null, the task's cgroups, its
// namespaces (isolated: new pid, mount, ipc and uts namespaces with their own
// /proc, /tmp and /dev/shm, and `init` as pid 1), its user (no capabilities
// and no_new_privs when it is not root), the working directory, and stdout /
// stderr from the executor's pipes (agent/executor/task_log.h writes them
// to the sandbox): the child opens nothing in the sandbox.
// The calling thread waits (microseconds) until the child has exec'd or
// failed; a failure is returned with the step that failed. Loop thread only.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace agora::agent {

// The user a child becomes before exec.
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
};

struct SpawnSpec {
  std::string command;      // run by /bin/sh -c
  std::vector<std::string> env;  // NAME=VALUE
  std::string dir;          // working directory
  int stdout_fd = -1;       // the task's stdout (a pipe's write end); -1: /dev/null
  int stderr_fd = -1;
  std::vector<std::string> cgroup_procs;  // cgroup.procs files to join
  std::optional<RunAs> user;              // none: the executor's own
  // Isolated: new pid, mount, ipc and uts namespaces; the command runs as
  // pid 2, started by pid 1, which then execs `init` (agora-init --adopt 2)
  // to wait for it; `tmp_dir` (in the sandbox) is mounted at /tmp and /var/tmp.
  bool isolate = false;
  std::string init;
  std::string tmp_dir;
  // A running isolated task's pid (its init): the child joins that task's
  // namespaces instead (a command health check runs beside the task). 0: none.
  pid_t join_namespaces_of = 0;
};

// The new process's pid; it leads its own process group.
absl::StatusOr<pid_t> Spawn(const SpawnSpec& spec);

// Empties this process's capability bounding set, which every child inherits,
// so that Spawn need not empty it in each child that is not root (about 40
// system calls there, each making new credentials). The caller keeps the
// capabilities it has; children, root ones included, can never gain any.
absl::Status DropCapabilityBoundingSet();

}  // namespace agora::agent
