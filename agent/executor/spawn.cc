#include "agent/executor/spawn.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"

#if defined(__SANITIZE_ADDRESS__)
#define AGORA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AGORA_ASAN 1
#endif
#endif
#ifdef AGORA_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace agora::agent {
namespace {

constexpr size_t kChildStack = 256 * 1024;
constexpr int kIsolationFlags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
// The namespaces a health check joins, in the order setns() needs (mount last:
// after it, /proc paths would be the task's).
constexpr const char* kJoinedNamespaces[] = {"ipc", "uts", "pid", "mnt"};
constexpr int kJoinedCount = 4;

// Everything the child reads, as plain pointers; `failed_step` and `error`
// are how it tells the parent why it could not exec (shared memory).
struct ChildArgs {
  const char* path;      // /bin/sh
  char* const* argv;     // /bin/sh -c COMMAND
  char* const* init_argv;  // agora-init --adopt <adopt_pid>
  char* adopt_pid;         // filled by pid 1 with its child's pid
  char* task_stack;        // the second child's (isolated: pid 2)
  char* const* envp;
  const char* dir;
  int stdout_fd;  // -1: /dev/null
  int stderr_fd;
  const char* const* cgroup_procs;
  size_t cgroup_count;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t group_count;
  bool isolate;
  const char* tmp_dir;
  const int* join_fds;  // kJoinedCount namespace handles, or null
  int exec_fd;          // isolated: agora-init, opened before any mount could hide it
  const char* failed_step = nullptr;
  int error = 0;
};

int Fail(ChildArgs* a, const char* step) {
  a->failed_step = step;
  a->error = errno;
  _exit(127);
}

// The task's output: the executor's pipe, or /dev/null.
int OpenOutput(int fd) { return fd >= 0 ? fd : ::open("/dev/null", O_WRONLY | O_CLOEXEC); }

// Appends the decimal `n` (>= 0) to the string in `out` (room for 11 more).
void AppendNumber(char* out, int n) {
  char digits[12];
  int len = 0;
  do {
    digits[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n > 0);
  char* end = out + ::strlen(out);
  while (len > 0) *end++ = digits[--len];
  *end = '\0';
}

// True when the absolute `path` is `dir` or beneath it.
bool Within(const char* path, const char* dir) {
  const size_t n = ::strlen(dir);
  return ::strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

// The new mount namespace's private views: its pid namespace's /proc, the
// sandbox's tmp at /tmp and /var/tmp, an empty /dev/shm. A view that would
// hide the sandbox itself (a work dir under /tmp) is left shared.
bool MountPrivateViews(ChildArgs* a) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return false;
  }
  const bool absolute = a->dir[0] == '/';
  if (a->tmp_dir[0] != '\0' && absolute) {
    // Through a handle opened without following symlinks: the sandbox is the task's.
    const int tmp = ::open(a->tmp_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (tmp < 0) return false;
    char source[32] = "/proc/self/fd/";
    AppendNumber(source, tmp);
    bool ok = true;
    for (const char* target : {"/tmp", "/var/tmp"}) {
      if (Within(a->dir, target) || ::access(target, F_OK) != 0) continue;
      ok = ok && ::mount(source, target, nullptr, MS_BIND, nullptr) == 0;
    }
    ::close(tmp);
    if (!ok) return false;
  }
  return !absolute || Within(a->dir, "/dev/shm") || ::access("/dev/shm", F_OK) != 0 ||
         ::mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k") == 0;
}

// Empties the capability bounding set (the capabilities an exec can grant).
bool EmptyBoundingSet() {
  for (int cap = 0; cap <= 63; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
    if (errno == EINVAL) return true;  // past the last capability this kernel has
    return false;
  }
  return true;
}

// Set once the executor emptied its bounding set: its children inherit it.
bool bounding_set_empty = false;

// Drops every capability a non-root task could regain and forbids gaining
// privileges by exec (setuid binaries, file capabilities).
bool DropPrivileges() {
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && (bounding_set_empty || EmptyBoundingSet());
}

// Closes every descriptor from `first` to `last` (close_range, or one by one
// on kernels before 5.9).
void CloseRange(unsigned first, unsigned last) {
  if (first > last || ::syscall(SYS_close_range, first, last, 0u) == 0) return;
  const long limit = ::sysconf(_SC_OPEN_MAX);
  for (unsigned fd = first; fd <= last && static_cast<long>(fd) < limit; ++fd) ::close(static_cast<int>(fd));
}

// An isolated task's command, started by its pid 1 (still in the executor's
// memory, with everything already set up): it only execs.
int TaskMain(void* arg) {
  auto* a = static_cast<ChildArgs*>(arg);
  ::execve(a->path, a->argv, a->envp);
  return Fail(a, "exec /bin/sh");
}

// Runs on its own stack in the executor's memory: system calls only.
int ChildMain(void* arg) {
  auto* a = static_cast<ChildArgs*>(arg);
  // Handlers are the executor's: reset them before any signal can arrive.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::setsid() < 0) return Fail(a, "start a session");
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0) return Fail(a, "open /dev/null");
  for (size_t i = 0; i < a->cgroup_count; ++i) {
    const int fd = ::open(a->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) return Fail(a, "join the task's cgroup");  // "0": itself
    ::close(fd);
  }
  if (a->join_fds != nullptr) {
    for (int i = 0; i < kJoinedCount; ++i) {
      if (::setns(a->join_fds[i], 0) != 0) return Fail(a, "join the task's namespaces");
    }
  }
  if (a->isolate && !MountPrivateViews(a)) return Fail(a, "mount the task's /proc, /tmp and /dev/shm");
  if (a->switch_user) {
    if (a->uid != 0 && !DropPrivileges()) return Fail(a, "drop capabilities");
    // Raw calls: glibc's setuid() signals every thread of the process it
    // thinks it is in, which here is the executor's.
    if (::syscall(SYS_setgroups, a->group_count, a->groups) != 0 ||
        ::syscall(SYS_setresgid, a->gid, a->gid, a->gid) != 0 ||
        ::syscall(SYS_setresuid, a->uid, a->uid, a->uid) != 0) {
      return Fail(a, "switch to the task's user");
    }
  } else if (a->isolate && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return Fail(a, "set no_new_privs");
  }
  if (::chdir(a->dir) != 0) return Fail(a, "chdir to the sandbox");
  const int out = OpenOutput(a->stdout_fd);
  if (out < 0) return Fail(a, "open /dev/null for stdout");
  const int err = OpenOutput(a->stderr_fd);
  if (err < 0) return Fail(a, "open /dev/null for stderr");
  if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
      ::dup2(err, STDERR_FILENO) < 0) {
    return Fail(a, "redirect stdin/stdout/stderr");
  }
  // Nothing the executor inherited reaches the task (its own descriptors are
  // close-on-exec; the init's handle must stay open until exec).
  if (a->exec_fd >= 0) {
    if (a->exec_fd > 3) CloseRange(3, static_cast<unsigned>(a->exec_fd - 1));
    CloseRange(static_cast<unsigned>(a->exec_fd + 1), ~0u);
  } else {
    CloseRange(3, ~0u);
  }
  ::umask(022);  // the executor's is 077
  if (a->isolate) {
    // Pid 1 starts the command as its child (pid 2), then becomes the
    // namespace's init by exec: one process creation fewer than an init
    // that forks (each costs about 0.3 ms of cpu here: docs/benchmarks.md).
    const pid_t task = ::clone(TaskMain, a->task_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
    if (task < 0) return Fail(a, "start the task in its namespace");
    if (a->failed_step != nullptr) _exit(127);
    AppendNumber(a->adopt_pid, task);
    ::syscall(SYS_execveat, a->exec_fd, "", a->init_argv, a->envp, AT_EMPTY_PATH);
    return Fail(a, "exec the task's init");
  }
  ::execve(a->path, a->argv, a->envp);
  return Fail(a, "exec /bin/sh");
}

// The children's stacks (the child's, and an isolated task's pid 2), reused:
// the calling thread waits while they run.
char* StackTop(int which) {
  static char* stacks = [] {
    void* p = ::mmap(nullptr, 2 * kChildStack, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }();
  return stacks == nullptr ? nullptr : stacks + (which + 1) * kChildStack;
}

}  // namespace

absl::Status DropCapabilityBoundingSet() {
  if (!EmptyBoundingSet()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot empty the capability bounding set: ", strerror(errno)));
  }
  bounding_set_empty = true;
  return absl::OkStatus();
}

absl::StatusOr<pid_t> Spawn(const SpawnSpec& spec) {
  std::string init = spec.init, adopt = "--adopt", shell = "/bin/sh", dash_c = "-c", command = spec.command;
  char adopt_pid[16] = {};
  char* shell_argv[] = {shell.data(), dash_c.data(), command.data(), nullptr};
  char* init_argv[] = {init.data(), adopt.data(), adopt_pid, nullptr};
  std::vector<std::string> env = spec.env;
  std::vector<char*> envp;
  for (std::string& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<const char*> procs;
  for (const std::string& p : spec.cgroup_procs) procs.push_back(p.c_str());
  UniqueFd join[kJoinedCount];
  int join_fds[kJoinedCount];
  if (spec.join_namespaces_of > 0) {
    for (int i = 0; i < kJoinedCount; ++i) {
      const std::string path =
          absl::StrCat("/proc/", spec.join_namespaces_of, "/ns/", kJoinedNamespaces[i]);
      join[i] = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!join[i].valid()) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot open ", path, ": ", strerror(errno), " (the task is gone)"));
      }
      join_fds[i] = join[i].get();
    }
  }
  if (spec.isolate && spec.init.empty()) return absl::InternalError("isolation needs an init");
  // Opened now: the mounts the child makes could hide its path (under /tmp).
  UniqueFd init_fd;
  if (spec.isolate) {
    init_fd = UniqueFd(::open(spec.init.c_str(), O_PATH | O_CLOEXEC));
    if (!init_fd.valid()) {
      return absl::FailedPreconditionError(absl::StrCat("cannot open ", spec.init, ": ", strerror(errno)));
    }
  }

  const RunAs user = spec.user.value_or(RunAs{});
  ChildArgs args{shell.c_str(),
                 shell_argv,
                 init_argv,
                 adopt_pid,
                 StackTop(1),
                 envp.data(),
                 spec.dir.c_str(),
                 spec.stdout_fd,
                 spec.stderr_fd,
                 procs.data(),
                 procs.size(),
                 spec.user.has_value(),
                 user.uid,
                 user.gid,
                 user.groups.data(),
                 user.groups.size(),
                 spec.isolate,
                 spec.tmp_dir.c_str(),
                 spec.join_namespaces_of > 0 ? join_fds : nullptr,
                 init_fd.valid() ? init_fd.get() : -1};
  char* stack = StackTop(0);
  if (stack == nullptr) return absl::InternalError("cannot map a stack for the child");
#ifdef AGORA_ASAN
  // The children end by exec or _exit inside their frames, never returning:
  // AddressSanitizer's marks of the last one's frames are still on the stacks.
  __asan_unpoison_memory_region(StackTop(0) - kChildStack, 2 * kChildStack);
#endif

  // No signal may run a handler in the child while it shares our memory;
  // it resets them, then unblocks.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (spec.isolate ? kIsolationFlags : 0);
  const pid_t pid = ::clone(ChildMain, stack, flags, &args);
  const int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return absl::InternalError(absl::StrCat("clone failed: ", strerror(clone_errno)));
  if (args.failed_step != nullptr) {
    // It exited (127) and will be reaped as such; the caller reports why.
    return absl::FailedPreconditionError(
        absl::StrCat("cannot ", args.failed_step, ": ", strerror(args.error), " (pid ", pid, ")"));
  }
  return pid;
}

}  // namespace agora::agent
