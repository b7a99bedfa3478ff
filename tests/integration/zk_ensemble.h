// ZkEnsemble: a real ZooKeeper ensemble on loopback for tests (PLATFORM.md:
// Debian's zookeeper run by hand with a zoo.cfg of our own), in a temporary
// folder removed at the end. tickTime is 250ms, so sessions may be as short
// as 500ms (and at most 5s); no fsync (forceSync=no). Servers can be killed
// and started again, singly or all.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/integration/cluster.h"

namespace agora::testing {

class ZkEnsemble {
 public:
  // Clients reach it at `address` (a test's network namespace host side).
  // A server cut off from the others keeps serving its clients for
  // `sync_limit_ticks` ticks.
  explicit ZkEnsemble(int size = 3, std::string address = "127.0.0.1", int sync_limit_ticks = 10);
  ~ZkEnsemble();  // stops every server

  // zk://ADDRESS:P1,ADDRESS:P2,.../ROOT
  std::string url(const std::string& root) const;
  int size() const { return static_cast<int>(servers_.size()); }
  int client_port(int i) const { return servers_[i].client_port; }
  void Start(int i);
  void Kill(int i);  // SIGKILL
  void Signal(int i, int sig);  // SIGSTOP, SIGCONT: a server frozen, then back
  bool running(int i) const { return servers_[i].process != nullptr; }
  // Until every running server serves (answers `srvr` with its mode).
  bool WaitServing(absl::Duration timeout = absl::Seconds(60));
  // What server i answers to `srvr` ("" when it does not).
  std::string Srvr(int i) const;

 private:
  struct Server {
    int client_port = 0, peer_port = 0, election_port = 0;
    std::unique_ptr<Process> process;
  };
  std::string dir_;
  std::string address_;
  std::vector<Server> servers_;
};

}  // namespace agora::testing
