// The operator listings: `agora agents|frameworks|tasks|offers|roles [--json]`.
// Each asks the master and prints a table, or the master's JSON as is.
#pragma once

#include <functional>
#include <string>

#include "absl/time/time.h"

#include "frameworks/sdk/master_client.h"

namespace agora::tools {
using sdk::MasterClient;

// Rows kept by a listing; an empty field keeps everything.
struct ListingFilter {
  std::string state;         // agents, frameworks, tasks
  std::string framework_id;  // tasks, offers
  std::string agent_id;      // tasks, offers (an agent id or a hostname)
};

// Returns the process exit code: 0 shown, 1 the master failed to answer.
int PrintListing(MasterClient& client, const std::string& noun, bool json,
                 const ListingFilter& filter = {});

// `agora status`: agents by state, resources used of total, frameworks, and
// tasks by state.
int PrintStatus(MasterClient& client, bool json);
// `agora version`: this CLI's version and commit, and the master's (exit 1
// when the master cannot be asked).
int PrintVersions(MasterClient& client, bool json);

// --watch: runs `print` every `interval` (`count` times; 0: until Ctrl-C
// ends the process), clearing the screen first on a terminal. Returns the
// last exit code.
struct WatchFlags {
  bool watch = false;
  absl::Duration interval = absl::Seconds(2);
  int count = 0;
};
int Watch(const WatchFlags& flags, const std::string& title, const std::function<int()>& print);

}  // namespace agora::tools
