#include "agent/process_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace agora::agent {
namespace {

class ForkExecLauncher final : public ProcessLauncher {
 public:
  absl::StatusOr<pid_t> Launch(const std::vector<std::string>& args,
                               const std::string& log_path) override {
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return absl::InternalError(absl::StrCat("fork failed: ", strerror(errno)));
    if (pid == 0) {  // only async-signal-safe calls from here
      sigset_t all;
      sigfillset(&all);
      sigprocmask(SIG_UNBLOCK, &all, nullptr);
      ::setsid();  // survives the agent's process group being signalled
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }
};

}  // namespace

std::unique_ptr<ProcessLauncher> NewForkExecLauncher() { return std::make_unique<ForkExecLauncher>(); }

}  // namespace agora::agent
