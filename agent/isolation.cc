#include "agent/isolation.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace agora::agent {

absl::Status ProbeIsolation() {
  if (::geteuid() != 0) return absl::FailedPreconditionError("the agent is not root");
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    if (::unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) != 0) _exit(1);
    const pid_t inner = ::fork();  // the new pid namespace's first process
    if (inner < 0) _exit(2);
    if (inner == 0) {
      const bool ok = ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0 &&
                      ::getpid() == 1;
      _exit(ok ? 0 : 3);
    }
    int status = 0;
    ::waitpid(inner, &status, 0);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 5;
  switch (code) {
    case 0: return absl::OkStatus();
    case 1: return absl::FailedPreconditionError("this kernel refuses new pid, mount, ipc or uts namespaces");
    case 3: return absl::FailedPreconditionError("a new mount namespace cannot mount its own /proc");
    default: return absl::InternalError(absl::StrCat("the isolation probe failed (", code, ")"));
  }
}

}  // namespace agora::agent
