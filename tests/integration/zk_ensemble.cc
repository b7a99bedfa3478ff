#include "tests/integration/zk_ensemble.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace agora::testing {
namespace fs = std::filesystem;

ZkEnsemble::ZkEnsemble(int size, std::string address, int sync_limit_ticks)
    : address_(std::move(address)), servers_(size) {
  std::string tmpl = (fs::temp_directory_path() / "agora-zk-XXXXXX").string();
  dir_ = ::mkdtemp(tmpl.data());
  for (Server& s : servers_) {
    s.client_port = FreePort();
    s.peer_port = FreePort();
    s.election_port = FreePort();
  }
  for (int i = 0; i < size; ++i) {
    const fs::path home = fs::path(dir_) / absl::StrCat("server", i + 1);
    fs::create_directories(home / "data");
    std::ofstream(home / "data" / "myid") << i + 1 << "\n";
    std::ofstream cfg(home / "zoo.cfg");
    cfg << "tickTime=250\ninitLimit=20\nsyncLimit=" << sync_limit_ticks << "\n"
        << "dataDir=" << (home / "data").string() << "\n"
        << "clientPort=" << servers_[i].client_port << "\nclientPortAddress=" << address_ << "\n"
        << "admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\n"
        << "minSessionTimeout=500\nforceSync=no\n";  // no fsync stalls on a loaded test machine
    for (int j = 0; j < size; ++j) {
      cfg << "server." << j + 1 << "=127.0.0.1:" << servers_[j].peer_port << ":"
          << servers_[j].election_port << "\n";
    }
  }
  for (int i = 0; i < size; ++i) Start(i);
}

ZkEnsemble::~ZkEnsemble() {
  for (Server& s : servers_) {
    if (s.process) s.process->Signal(SIGKILL);
    s.process.reset();
  }
  std::error_code ec;
  if (::getenv("AGORA_KEEP_TEST_DIRS") == nullptr) fs::remove_all(dir_, ec);
}

std::string ZkEnsemble::url(const std::string& root) const {
  std::vector<std::string> hosts;
  for (const Server& s : servers_) hosts.push_back(absl::StrCat(address_, ":", s.client_port));
  return absl::StrCat("zk://", absl::StrJoin(hosts, ","), root);
}

void ZkEnsemble::Start(int i) {
  const fs::path home = fs::path(dir_) / absl::StrCat("server", i + 1);
  servers_[i].process = std::make_unique<Process>(
      std::vector<std::string>{"/usr/bin/java", "-Xmx256m", "-XX:+UseSerialGC",
                               "-Dzookeeper.log.dir=" + home.string(),
                               "-cp", "/etc/zookeeper/conf_example:/usr/share/java/zookeeper.jar",
                               "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                               (home / "zoo.cfg").string()},
      (home / "server.log").string());
}

void ZkEnsemble::Signal(int i, int sig) {
  if (servers_[i].process) servers_[i].process->Signal(sig);
}

void ZkEnsemble::Kill(int i) {
  if (!servers_[i].process) return;
  servers_[i].process->Signal(SIGKILL);
  servers_[i].process->Wait(absl::Seconds(10));
  servers_[i].process.reset();
}

std::string ZkEnsemble::Srvr(int i) const {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(servers_[i].client_port);
  ::inet_pton(AF_INET, address_.c_str(), &addr.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::write(fd, "srvr", 4) == 4) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, n);
  }
  ::close(fd);
  return out;
}

bool ZkEnsemble::WaitServing(absl::Duration timeout) {
  return WaitFor([&] {
    for (int i = 0; i < size(); ++i) {
      if (running(i) && Srvr(i).find("Mode: ") == std::string::npos) return false;
    }
    return true;
  }, timeout);
}

}  // namespace agora::testing
