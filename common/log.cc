#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace agora {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_file{-1};
std::atomic<bool> g_json{false};
constexpr const char* kLevelNames[] = {"D", "I", "W", "E"};
constexpr const char* kLevelWords[] = {"debug", "info", "warning", "error"};

void JsonString(std::ostream& out, absl::string_view s) {
  out << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\n': out << "\\n"; break;
      case '\t': out << "\\t"; break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out << "\\u00" << kHex[c >> 4] << kHex[c & 15];
        } else {
          out << c;
        }
    }
  }
  out << '"';
}
}  // namespace

bool OpenLogFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  int old = g_file.exchange(fd);
  if (old >= 0) ::close(old);
  return true;
}

void SetLogJson(bool json) { g_json = json; }

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  if (text == "debug") *level = LogLevel::kDebug;
  else if (text == "info") *level = LogLevel::kInfo;
  else if (text == "warning") *level = LogLevel::kWarning;
  else if (text == "error") *level = LogLevel::kError;
  else return false;
  return true;
}

LogLine::LogLine(LogLevel level, absl::string_view component) : level_(level), component_(component) {}

LogLine::~LogLine() {
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3S", absl::Now(), absl::UTCTimeZone());
  std::ostringstream line;
  if (g_json) {
    line << "{\"time\":\"" << time << "Z\",\"level\":\"" << kLevelWords[static_cast<int>(level_)]
         << "\",\"component\":";
    JsonString(line, component_);
    line << ",\"message\":";
    JsonString(line, stream_.str());
    line << "}\n";
  } else {
    line << kLevelNames[static_cast<int>(level_)] << ' ' << time << ' ' << component_ << ": " << stream_.str()
         << '\n';
  }
  const std::string text = line.str();
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
  if (int fd = g_file.load(); fd >= 0) n = ::write(fd, text.data(), text.size());
}

}  // namespace agora
