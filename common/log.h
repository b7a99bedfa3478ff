// Leveled logging: one line per statement, with time, level and component,
// to stderr and, once OpenLogFile() succeeded, to that file as well; as text
// ("I 2026-11-23T09:00:00.000 master: ...") or JSON lines ({"time", "level",
// "component", "message"}). Thread-safe (each line is one write() per sink).
//
// Example:
//   AGORA_LOG(INFO, "master") << "agent " << id << " registered";
#pragma once

#include <sstream>
#include <string>
#include "absl/strings/string_view.h"

namespace agora {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this level are dropped. Default kInfo.
void SetLogLevel(LogLevel level);
bool ParseLogLevel(absl::string_view text, LogLevel* level);
LogLevel GetLogLevel();
// Appends every line to `path` too (created if missing). False if it cannot
// be opened; stderr goes on either way.
bool OpenLogFile(const std::string& path);
void SetLogJson(bool json);

class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view component);
  ~LogLine();
  template <typename T>
  LogLine& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  LogLevel level_;
  std::string component_;
  std::ostringstream stream_;
};

}  // namespace agora

#define AGORA_LOG_LEVEL_DEBUG ::agora::LogLevel::kDebug
#define AGORA_LOG_LEVEL_INFO ::agora::LogLevel::kInfo
#define AGORA_LOG_LEVEL_WARNING ::agora::LogLevel::kWarning
#define AGORA_LOG_LEVEL_ERROR ::agora::LogLevel::kError
// A for-statement rather than if/else, so `if (x) AGORA_LOG(...) << y;` has
// no dangling else.
#define AGORA_LOG(level, component)                                              \
  for (bool agora_log_on_ = AGORA_LOG_LEVEL_##level >= ::agora::GetLogLevel(); \
       agora_log_on_; agora_log_on_ = false)                                     \
  ::agora::LogLine(AGORA_LOG_LEVEL_##level, component)
