// `agora dev up|status|down`: a whole cluster on this machine with no
// configuration (like `nomad agent -dev`): a master, N agents with distinct
// hostnames, zones and port ranges, agora-batch and agora-services, each a background
// process with its work dir and log under one folder. `up` returns once the
// cluster is ready; `down` stops everything it started (tasks included).
// The folder's cluster.json records the processes and endpoints.
#pragma once

#include <string>

namespace agora::tools {

struct DevArgs {
  std::string dir;  // default: $HOME/.local/state/agora/dev (or /tmp/agora-dev-UID)
  int agents = 3;
  int port = 5050;  // the master's; taken: a free one is used
  bool json = false;
};

std::string DefaultDevDir();

// Each returns the process exit code.
int DevUp(const DevArgs& args);
int DevStatus(const DevArgs& args);
int DevDown(const DevArgs& args);

}  // namespace agora::tools
