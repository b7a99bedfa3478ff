#include "agent/orphans.h"
#include "common/proc_file.h"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace agora::agent {

int KillSandboxProcesses(const std::string& sandbox) {
  if (sandbox.empty()) return 0;
  const std::string wanted = "AGORA_SANDBOX=" + sandbox;
  const pid_t self = ::getpid();
  int killed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == self) continue;
    const std::string environ = ReadProcFile((entry.path() / "environ").string());
    // Variables are NUL-separated: match a whole one.
    for (size_t at = 0; at < environ.size();) {
      const size_t end = environ.find('\0', at);
      const size_t len = (end == std::string::npos ? environ.size() : end) - at;
      if (environ.compare(at, len, wanted) == 0) {
        if (::kill(pid, SIGKILL) == 0) ++killed;
        break;
      }
      if (end == std::string::npos) break;
      at = end + 1;
    }
  }
  return killed;
}

}  // namespace agora::agent
