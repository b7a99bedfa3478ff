#include "common/signals.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"

#include "common/log.h"

namespace agora {
namespace {
sigset_t MakeSet(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  return set;
}
}  // namespace

void BlockSignals(std::initializer_list<int> signals) {
  sigset_t set = MakeSet(signals);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void DieOnSignals(std::initializer_list<int> signals) {
  // A signal ignored at start stays ignored (`agora logs -f &` in a script
  // outlives a Ctrl-C meant for the foreground).
  sigset_t set;
  sigemptyset(&set);
  for (int sig : signals) {
    struct sigaction was {};
    if (::sigaction(sig, nullptr, &was) == 0 && was.sa_handler != SIG_IGN) sigaddset(&set, sig);
  }
  std::thread([set] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    ::signal(sig, SIG_DFL);
    sigset_t just;
    sigemptyset(&just);
    sigaddset(&just, sig);
    pthread_sigmask(SIG_UNBLOCK, &just, nullptr);
    ::raise(sig);  // to this thread, which no longer blocks it: the process ends
  }).detach();
}

SignalWatcher::SignalWatcher(EventLoop& loop, std::initializer_list<int> signals,
                             std::function<void(int)> handler)
    : loop_(loop) {
  sigset_t set = MakeSet(signals);
  fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd_ < 0) {
    AGORA_LOG(ERROR, "signals") << "signalfd failed";
    std::abort();
  }
  loop_.WatchFd(fd_, [this, handler = std::move(handler)] {
    signalfd_siginfo info;
    while (::read(fd_, &info, sizeof(info)) == sizeof(info)) {
      handler(static_cast<int>(info.ssi_signo));
    }
  });
}

SignalWatcher::~SignalWatcher() {
  loop_.UnwatchFd(fd_);
  ::close(fd_);
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return absl::StrCat("wait status ", status);
}

}  // namespace agora
