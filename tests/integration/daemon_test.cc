// What every daemon does for the machine it runs on, tried on the real
// binaries: readiness and the watchdog through systemd's notification socket
// (Type=notify), and an open cluster bound to loopback unless --insecure.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/integration/cluster.h"

namespace agora::testing {
namespace {

// A socket standing in for systemd's NOTIFY_SOCKET: it keeps what daemons send.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ::unlink(path.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  // Waits up to `timeout` for a message holding `text`; every message read
  // meanwhile is kept in received().
  bool WaitFor(const std::string& text, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      received_.emplace_back(buf, static_cast<size_t>(n));
      if (absl::StrContains(received_.back(), text)) return true;
    }
    return false;
  }
  const std::vector<std::string>& received() const { return received_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::vector<std::string> received_;
};

std::string Dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + absl::StrCat("agora-daemon-", name, "-", ::getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(DaemonTest, TellsSystemdItIsReadyPingsTheWatchdogAndSaysWhenItStops) {
  const std::string dir = Dir("notify");
  NotifySocket systemd(dir + "/notify.sock");
  ASSERT_TRUE(systemd.bound());
  {
    // As systemd starts a unit with WatchdogSec=1s.
    Process master({"/usr/bin/env", absl::StrCat("NOTIFY_SOCKET=", dir, "/notify.sock"), "WATCHDOG_USEC=1000000",
                    BinPath("agora-master"), "--listen", absl::StrCat("tcp://127.0.0.1:", FreeMasterPort()),
                    "--work_dir", dir + "/master", "--http_port", "0"},
                   dir + "/master.log");
    ASSERT_TRUE(systemd.WaitFor("READY=1", absl::Seconds(20))) << FileText(dir + "/master.log");
    EXPECT_TRUE(absl::StrContains(systemd.received().back(), "STATUS=leading")) << systemd.received().back();
    // Ready means serving: its endpoints are written and it answers.
    EXPECT_FALSE(FirstLine(dir + "/master/http_endpoint").empty());
    EXPECT_TRUE(systemd.WaitFor("WATCHDOG=1", absl::Seconds(3)));
    EXPECT_TRUE(systemd.WaitFor("WATCHDOG=1", absl::Seconds(3)));  // and again, at half the period
    master.Signal(SIGTERM);
    EXPECT_TRUE(systemd.WaitFor("STOPPING=1", absl::Seconds(10)));
    int status = 0;
    ASSERT_TRUE(master.Wait(absl::Seconds(10), &status));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  std::filesystem::remove_all(dir);
}

TEST(DaemonTest, AnOpenClusterStaysOnLoopbackUnlessToldInsecure) {
  const std::string dir = Dir("bind");
  const std::string port = std::to_string(FreeMasterPort());
  // Every daemon that binds a control port refuses a public address without keys.
  const std::vector<std::vector<std::string>> refused = {
      {BinPath("agora-master"), "--listen", "tcp://0.0.0.0:" + port, "--work_dir", dir + "/m1"},
      {BinPath("agora-master"), "--http_host", "0.0.0.0", "--work_dir", dir + "/m2"},
      {BinPath("agora-agent"), "--master", "tcp://127.0.0.1:" + port, "--http_host", "0.0.0.0", "--work_dir", dir + "/a"},
      {BinPath("agora-batch"), "--http_host", "0.0.0.0", "--work_dir", dir + "/b"},
      {BinPath("agora-services"), "--http_host", "0.0.0.0", "--work_dir", dir + "/s"},
  };
  for (const auto& argv : refused) {
    std::string command;
    for (const std::string& a : argv) absl::StrAppend(&command, a, " ");
    CliResult r = RunShell(command + "2>&1");
    EXPECT_NE(r.exit_code, 0) << command << "\n" << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "reaches beyond this machine, but the cluster is open")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "--insecure")) << r.out;
  }
  // Told, the master listens there (and says it runs open).
  Process master({BinPath("agora-master"), "--listen", "tcp://0.0.0.0:" + port, "--insecure", "--work_dir",
                  dir + "/m3", "--http_port", "0"},
                 dir + "/m3.log");
  EXPECT_TRUE(WaitFor([&] { return !FirstLine(dir + "/m3/endpoint").empty(); }, absl::Seconds(20)))
      << FileText(dir + "/m3.log");
  EXPECT_EQ(FirstLine(dir + "/m3/endpoint"), "tcp://0.0.0.0:" + port);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace agora::testing
