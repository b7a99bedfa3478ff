#include "common/proc_file.h"

#include <fcntl.h>
#include <unistd.h>

namespace agora {

std::string ReadProcFile(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

std::vector<std::string> ReadProcStat(const std::string& pid) {
  const std::string stat = ReadProcFile("/proc/" + pid + "/stat");
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  std::vector<std::string> fields{"", stat.substr(0, open > 0 ? open - 1 : 0),
                                  stat.substr(open + 1, close - open - 1)};
  size_t i = close + 1;
  while (i < stat.size()) {
    while (i < stat.size() && (stat[i] == ' ' || stat[i] == '\n')) ++i;
    const size_t end = stat.find_first_of(" \n", i);
    if (i < stat.size()) fields.push_back(stat.substr(i, end - i));
    i = end == std::string::npos ? stat.size() : end;
  }
  return fields;
}

}  // namespace agora
