#include "common/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/metrics_writer.h"
#include "common/proc_file.h"

namespace agora {
namespace {

double Field(const std::vector<std::string>& stat, size_t i) {
  return stat.size() > i ? std::strtod(stat[i].c_str(), nullptr) : 0;
}

// When the machine booted, in seconds since the epoch (/proc/stat's btime).
double BootTime() {
  for (absl::string_view line : absl::StrSplit(ReadProcFile("/proc/stat"), '\n')) {
    double t = 0;
    if (absl::ConsumePrefix(&line, "btime ") && absl::SimpleAtod(line, &t)) return t;
  }
  return 0;
}

}  // namespace

void WriteProcessMetrics(MetricsWriter& w) {
  static const double ticks = double(::sysconf(_SC_CLK_TCK));
  static const double page = double(::sysconf(_SC_PAGESIZE));
  static const double boot = BootTime();
  const std::vector<std::string> stat = ReadProcStat("self");
  size_t fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  w.One("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.",
        (Field(stat, 14) + Field(stat, 15)) / ticks);
  w.One("process_resident_memory_bytes", "gauge", "Resident memory size, in bytes.",
        Field(stat, 24) * page);
  w.One("process_virtual_memory_bytes", "gauge", "Virtual memory size, in bytes.", Field(stat, 23));
  w.One("process_open_fds", "gauge", "Open file descriptors.", double(fds > 0 ? fds - 1 : 0));
  w.One("process_max_fds", "gauge", "The most file descriptors it may open.",
        double(limit.rlim_cur));
  w.One("process_start_time_seconds", "gauge", "When it started, in seconds since the epoch.",
        boot + Field(stat, 22) / ticks);
  w.One("process_threads", "gauge", "Threads.", Field(stat, 20));
}

}  // namespace agora
