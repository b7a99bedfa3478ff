// `agora dev up|status|down`: a whole cluster on this machine with no
// configuration (like `nomad agent -dev`): a master, N agents with distinct
// hostnames, zones and port ranges, agora-batch and agora-services, each a background
// process with its work dir and log under one folder. `up` returns once the
// cluster is ready; `down` stops everything it started (tasks included).
// With --masters 3 (or 5), a one-server ZooKeeper (Debian's zookeeper
// package) and that many masters electing a leader through it; the others
// are given its zk:// address. `kill NAME` SIGKILLs one process and `start
// NAME` starts it again as it was (a master failover, an agent crash).
// The folder's cluster.json records the processes, their command lines and
// endpoints.
#pragma once

#include <string>

namespace agora::tools {

struct DevArgs {
  std::string dir;  // default: $HOME/.local/state/agora/dev (or /tmp/agora-dev-UID)
  int agents = 3;
  int port = 5050;  // the (first) master's; taken: a free one is used
  int masters = 1;  // more: through ZooKeeper
  std::string name;  // kill, start, restart: the process (`agora dev status` lists them)
  bool json = false;
};

std::string DefaultDevDir();

// Each returns the process exit code.
int DevUp(const DevArgs& args);
int DevStatus(const DevArgs& args);
int DevDown(const DevArgs& args);
int DevKill(const DevArgs& args);
int DevStart(const DevArgs& args);
int DevRestart(const DevArgs& args);

}  // namespace agora::tools
