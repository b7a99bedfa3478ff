// Reads a file of /proc whole. The process behind it may exit meanwhile:
// std::ifstream then throws from inside libstdc++ (underflow on ESRCH), so
// this reads with plain read(2) and returns what it got, empty when the file
// or its process is gone. Never throws; any thread.
#pragma once

#include <string>
#include <vector>

namespace agora {

std::string ReadProcFile(const std::string& path);

// The fields of /proc/PID/stat ("self" for this process) numbered as in
// proc(5): [3] is the state, [14] utime, [22] starttime, [24] rss. [0] is
// empty, [1] the pid and [2] the command name (which may hold spaces and
// parentheses). Empty when the process is gone.
std::vector<std::string> ReadProcStat(const std::string& pid);

}  // namespace agora
