// Minimal leveled logging to stderr: one line per statement, with time, level
// and component. Thread-safe (each line is written with a single write()).
//
// Example:
//   AGORA_LOG(INFO, "master") << "agent " << id << " registered";
#pragma once

#include <sstream>
#include "absl/strings/string_view.h"

namespace agora {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this level are dropped. Default kInfo.
void SetLogLevel(LogLevel level);
bool ParseLogLevel(absl::string_view text, LogLevel* level);
LogLevel GetLogLevel();

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
