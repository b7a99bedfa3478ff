#include "agent/executor/usage.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "common/proc_file.h"

namespace agora::agent {

absl::flat_hash_map<pid_t, ProcessUsage> UsageByProcessGroup() {
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  absl::flat_hash_map<pid_t, ProcessUsage> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::string stat = ReadProcFile((entry.path() / "stat").string());
    const size_t end = stat.rfind(')');  // the command name may hold spaces and parentheses
    if (end == std::string::npos) continue;
    // Fields after the name, numbered as in proc(5): 3 state, 5 pgrp,
    // 14 utime, 15 stime, 16 cutime, 17 cstime (clock ticks), 24 rss (pages).
    std::istringstream fields(stat.substr(end + 2));
    std::string f;
    pid_t pgrp = 0;
    double utime = 0, stime = 0;
    uint64_t rss = 0;
    for (int i = 3; i <= 24 && fields >> f; ++i) {
      if (i == 5) pgrp = static_cast<pid_t>(std::strtol(f.c_str(), nullptr, 10));
      if (i == 14) utime = std::strtod(f.c_str(), nullptr);
      if (i == 15 || i == 16 || i == 17) stime += std::strtod(f.c_str(), nullptr);  // + waited-for children
      if (i == 24) rss = std::strtoull(f.c_str(), nullptr, 10);
    }
    ProcessUsage& u = out[pgrp];
    u.cpu_seconds += (utime + stime) / ticks;
    u.rss_bytes += rss * page;
  }
  return out;
}

double CpuRate::Update(double cpu_seconds, double now_seconds) {
  double rate = 0;
  if (last_cpu_ >= 0 && now_seconds > last_time_) {
    rate = std::max(0.0, (cpu_seconds - last_cpu_) / (now_seconds - last_time_));
  }
  last_cpu_ = cpu_seconds;
  last_time_ = now_seconds;
  return rate;
}

}  // namespace agora::agent
