#include "common/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace agora {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_file{-1};
std::atomic<bool> g_json{false};
constexpr const char* kLevelNames[] = {"D", "I", "W", "E"};
constexpr const char* kLevelWords[] = {"debug", "info", "warning", "error"};
constexpr const char* kJournalPriorities[] = {"<7>", "<6>", "<4>", "<3>"};  // sd-daemon(3)
std::atomic<bool> g_journal{false};
std::mutex g_path_mu;
std::string g_path;  // of the log file, for ReopenLogFile()

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
  std::lock_guard<std::mutex> lock(g_path_mu);
  g_path = path;
  const int current = g_file.load();
  if (current < 0) {
    g_file = fd;
    return true;
  }
  // The new file takes the current descriptor's number: a line being
  // written meanwhile goes to the old file or the new one, never to a
  // closed (or reused) descriptor.
  const bool moved = ::dup3(fd, current, O_CLOEXEC) >= 0;
  ::close(fd);
  return moved;
}

bool ReopenLogFile() {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(g_path_mu);
    path = g_path;
  }
  return path.empty() || OpenLogFile(path);
}

void SetLogJson(bool json) { g_json = json; }

bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");  // "DEVICE:INODE"
  struct stat st;
  if (stream == nullptr || ::fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long device = 0, inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  return st.st_dev == device && st.st_ino == inode;
}

void SetLogToJournal(bool journal) { g_journal = journal; }

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
  const int level = static_cast<int>(level_);
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::ostringstream line;
  if (g_json) {
    line << "{\"time\":\"" << time << "\",\"level\":\"" << kLevelWords[level] << "\",\"component\":";
    JsonString(line, component_);
    for (const auto& [key, value] : fields_) {
      line << ',';
      JsonString(line, key);
      line << ':';
      JsonString(line, value);
    }
    line << ",\"message\":";
    JsonString(line, stream_.str());
    line << "}\n";
  } else {
    line << kLevelNames[level] << ' ' << time << ' ' << component_ << ": " << stream_.str() << '\n';
  }
  const std::string text = line.str();
  // The journal stamps its lines and reads their priority from a prefix; a
  // file keeps the whole line.
  const std::string to_stderr =
      !g_journal ? text
                 : absl::StrCat(kJournalPriorities[level],
                                g_json ? text : absl::StrCat(component_, ": ", stream_.str(), "\n"));
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, to_stderr.data(), to_stderr.size());
  if (int fd = g_file.load(); fd >= 0) n = ::write(fd, text.data(), text.size());
}

bool HasLogFile() { return g_file.load() >= 0; }

}  // namespace agora
