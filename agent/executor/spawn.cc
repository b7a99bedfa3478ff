#include "agent/executor/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace agora::agent {
namespace {

constexpr size_t kChildStack = 256 * 1024;

// Everything the child reads, as plain pointers; `failed_step` and `error`
// are how it tells the parent why it could not exec (shared memory).
struct ChildArgs {
  const char* path;
  char* const* argv;
  char* const* envp;
  const char* dir;
  const char* stdout_path;
  const char* stderr_path;
  const char* const* cgroup_procs;
  size_t cgroup_count;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t group_count;
  const char* failed_step = nullptr;
  int error = 0;
};

int Fail(ChildArgs* a, const char* step) {
  a->failed_step = step;
  a->error = errno;
  _exit(127);
}

int OpenOutput(const char* path) {
  return path[0] == '\0' ? ::open("/dev/null", O_WRONLY | O_CLOEXEC)
                         : ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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
  if (::setpgid(0, 0) != 0) return Fail(a, "setpgid");
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int out = OpenOutput(a->stdout_path);
  const int err = OpenOutput(a->stderr_path);
  if (in < 0 || out < 0 || err < 0) return Fail(a, "open stdout/stderr");
  if (::chdir(a->dir) != 0) return Fail(a, "chdir to the sandbox");
  for (size_t i = 0; i < a->cgroup_count; ++i) {
    const int fd = ::open(a->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) return Fail(a, "join the task's cgroup");  // "0": itself
    ::close(fd);
  }
  if (a->switch_user) {
    [[maybe_unused]] int ignored = ::fchown(out, a->uid, a->gid) + ::fchown(err, a->uid, a->gid);
    // Raw calls: glibc's setuid() signals every thread of the process it
    // thinks it is in, which here is the executor's.
    if (::syscall(SYS_setgroups, a->group_count, a->groups) != 0 ||
        ::syscall(SYS_setresgid, a->gid, a->gid, a->gid) != 0 ||
        ::syscall(SYS_setresuid, a->uid, a->uid, a->uid) != 0) {
      return Fail(a, "switch to the task's user");
    }
  }
  if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
      ::dup2(err, STDERR_FILENO) < 0) {
    return Fail(a, "redirect stdin/stdout/stderr");
  }
  ::execve(a->path, a->argv, a->envp);
  return Fail(a, "exec /bin/sh");
}

// The child's stack, reused: the calling thread waits while the child runs.
char* ChildStackTop() {
  static char* stack = [] {
    void* p = ::mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }();
  return stack == nullptr ? nullptr : stack + kChildStack;
}

}  // namespace

absl::StatusOr<pid_t> Spawn(const SpawnSpec& spec) {
  std::string shell = "/bin/sh", dash_c = "-c", command = spec.command;
  char* argv[] = {shell.data(), dash_c.data(), command.data(), nullptr};
  std::vector<std::string> env = spec.env;
  std::vector<char*> envp;
  for (std::string& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<const char*> procs;
  for (const std::string& p : spec.cgroup_procs) procs.push_back(p.c_str());

  const RunAs user = spec.user.value_or(RunAs{});
  ChildArgs args{shell.c_str(), argv, envp.data(), spec.dir.c_str(), spec.stdout_path.c_str(),
                 spec.stderr_path.c_str(), procs.data(), procs.size(), spec.user.has_value(),
                 user.uid, user.gid, user.groups.data(), user.groups.size()};
  char* stack = ChildStackTop();
  if (stack == nullptr) return absl::InternalError("cannot map a stack for the child");

  // No signal may run a handler in the child while it shares our memory;
  // it resets them, then unblocks.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = ::clone(ChildMain, stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
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
