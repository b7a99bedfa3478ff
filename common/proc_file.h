// Reads a file of /proc whole. The process behind it may exit meanwhile:
// std::ifstream then throws from inside libstdc++ (underflow on ESRCH), so
// this reads with plain read(2) and returns what it got, empty when the file
// or its process is gone. Never throws; any thread.
#pragma once

#include <string>

namespace agora {

std::string ReadProcFile(const std::string& path);

}  // namespace agora
