// Leveled logging: one line per statement, with time, level and component,
// to stderr and, once OpenLogFile() succeeded, to that file as well.
//
//   text:     I 2026-11-23T09:00:00.000Z master: agent a-1 registered
//   JSON:     {"time":"2026-11-23T09:00:00.000Z","level":"info","component":"master",
//              "agent":"a-1","message":"agent a-1 registered"}
//   journal:  <6>master: agent a-1 registered
//
// Times are RFC 3339, UTC. Fields (With()) are keys of their own in JSON
// lines, for filtering by agent, framework or task; text lines say them in
// the message. When stderr is systemd's journal (SetLogToJournal), what goes
// there carries the journal's priority prefix, and text lines no time (the
// journal adds its own); a log file still gets whole lines. Thread-safe:
// each line is one write() per sink.
//
// Example:
//   AGORA_LOG(INFO, "master").With("agent", id) << "agent " << id << " registered";
#pragma once

#include <sstream>
#include <string>
#include <utility>
#include <vector>

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
// Opens the log file's path again (after logrotate moved it: SIGHUP). False
// if it cannot; the old file is kept then.
bool ReopenLogFile();
bool HasLogFile();
void SetLogJson(bool json);
// stderr is systemd's journal: JOURNAL_STREAM names its device and inode.
bool StderrIsJournal();
void SetLogToJournal(bool journal);

class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view component);
  ~LogLine();
  // A structured field: "agent", "framework", "task", "job", "service".
  LogLine& With(absl::string_view key, absl::string_view value) {
    fields_.emplace_back(key, value);
    return *this;
  }
  template <typename T>
  LogLine& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  LogLevel level_;
  std::string component_;
  std::vector<std::pair<std::string, std::string>> fields_;
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
