// Log lines as operators and their tools read them: RFC 3339 UTC times, JSON
// lines with the ids as fields, the journal's priority prefixes when stderr
// is the journal, and a log file reopened after logrotate moved it.
#include "common/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace agora {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs `log` with stderr sent to a file; what it wrote there.
template <typename F>
std::string Stderr(F log) {
  const std::string path = (fs::temp_directory_path() / absl::StrCat("agora-log-test-", ::getpid())).string();
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  std::FILE* file = std::fopen(path.c_str(), "w");
  ::dup2(::fileno(file), STDERR_FILENO);
  log();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::fclose(file);
  const std::string text = Slurp(path);
  fs::remove(path);
  return text;
}

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override {
    SetLogJson(false);
    SetLogToJournal(false);
    ::unsetenv("JOURNAL_STREAM");
  }
};

TEST_F(LogTest, TextLinesHaveAnRfc3339UtcTime) {
  const std::string line = Stderr([] { AGORA_LOG(WARNING, "master").With("agent", "a-1") << "agent a-1 is gone"; });
  EXPECT_TRUE(RE2::FullMatch(line, R"(W \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z master: agent a-1 is gone\n)"))
      << line;
}

TEST_F(LogTest, JsonLinesCarryTheIdsAsFields) {
  SetLogJson(true);
  const std::string line = Stderr([] {
    AGORA_LOG(INFO, "master").With("agent", "a-1").With("task", "t \"1\"") << "task t \"1\" on a-1";
  });
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  ASSERT_TRUE(j.is_object()) << line;
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["component"], "master");
  EXPECT_EQ(j["agent"], "a-1");
  EXPECT_EQ(j["task"], "t \"1\"");
  EXPECT_EQ(j["message"], "task t \"1\" on a-1");
  EXPECT_TRUE(RE2::FullMatch(j["time"].get<std::string>(), R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")) << line;
}

TEST_F(LogTest, IntoTheJournalLinesCarryItsPriorityAndNoTimeAndAFileStillGetsWholeLines) {
  const std::string path = (fs::temp_directory_path() / absl::StrCat("agora-log-journal-", ::getpid())).string();
  ASSERT_TRUE(OpenLogFile(path));
  std::string line = Stderr([] {
    struct stat st;
    ASSERT_EQ(::fstat(STDERR_FILENO, &st), 0);
    ::setenv("JOURNAL_STREAM", absl::StrCat(st.st_dev, ":", st.st_ino).c_str(), 1);
    ASSERT_TRUE(StderrIsJournal());
    SetLogToJournal(true);
    AGORA_LOG(ERROR, "agent") << "cannot checkpoint";
    AGORA_LOG(INFO, "agent") << "registered";
  });
  EXPECT_EQ(line, "<3>agent: cannot checkpoint\n<6>agent: registered\n");
  EXPECT_TRUE(RE2::FullMatch(Slurp(path), R"(E \S+Z agent: cannot checkpoint\nI \S+Z agent: registered\n)"))
      << Slurp(path);
  ASSERT_TRUE(OpenLogFile("/dev/null"));
  fs::remove(path);
  // Another stream (a terminal, a file) is not the journal.
  ::setenv("JOURNAL_STREAM", "1:2", 1);
  EXPECT_FALSE(StderrIsJournal());
  ::setenv("JOURNAL_STREAM", "garbage", 1);
  EXPECT_FALSE(StderrIsJournal());
}

TEST_F(LogTest, AMovedLogFileIsReopenedAtItsPath) {
  const std::string path = (fs::temp_directory_path() / absl::StrCat("agora-log-file-", ::getpid())).string();
  ASSERT_TRUE(OpenLogFile(path));
  Stderr([] { AGORA_LOG(INFO, "master") << "before"; });
  fs::rename(path, path + ".1");  // logrotate
  Stderr([] { AGORA_LOG(INFO, "master") << "in between"; });  // still to the moved file
  ASSERT_TRUE(ReopenLogFile());
  Stderr([] { AGORA_LOG(INFO, "master") << "after"; });
  const std::string old = Slurp(path + ".1"), fresh = Slurp(path);
  EXPECT_NE(old.find("before"), std::string::npos);
  EXPECT_NE(old.find("in between"), std::string::npos);
  EXPECT_EQ(old.find("after"), std::string::npos);
  EXPECT_NE(fresh.find("after"), std::string::npos) << fresh;
  EXPECT_EQ(fresh.find("before"), std::string::npos);
  ASSERT_TRUE(OpenLogFile("/dev/null"));  // later tests of this binary log nowhere
  fs::remove(path);
  fs::remove(path + ".1");
}

}  // namespace
}  // namespace agora
