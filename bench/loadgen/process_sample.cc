#include "bench/loadgen/process_sample.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace agora::loadgen {

absl::StatusOr<ProcessSample> SampleProcess(int pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return absl::NotFoundError(absl::StrCat("no process ", pid));
  // Fields after the command (which may hold spaces), from field 3 on.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  ProcessSample sample;
  sample.cpu = absl::Seconds(double(utime + stime) / double(sysconf(_SC_CLK_TCK)));
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string l; std::getline(status, l);) {
    if (l.rfind("VmRSS:", 0) == 0) sample.rss_bytes = std::stoull(l.substr(6)) * 1024;
    if (l.rfind("VmHWM:", 0) == 0) sample.peak_rss_bytes = std::stoull(l.substr(6)) * 1024;
  }
  return sample;
}

double CpuPercent(const ProcessSample& from, const ProcessSample& to, absl::Duration wall) {
  if (wall <= absl::ZeroDuration()) return 0;
  return 100.0 * absl::FDivDuration(to.cpu - from.cpu, wall);
}

}  // namespace agora::loadgen
