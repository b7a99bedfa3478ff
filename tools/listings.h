// The operator listings: `agora agent|framework|task|offer|role list` (the
// plural nouns are shortcuts: `agora agents`) and `agora NOUN show ID`. Each
// asks the master and prints a table, or the master's JSON as is.
#pragma once

#include <functional>
#include <string>

#include "absl/time/time.h"

#include <CLI/CLI.hpp>

#include "frameworks/sdk/master_client.h"

namespace agora::tools {
using sdk::MasterClient;

// Rows kept by a listing; an empty field keeps everything.
struct ListingFilter {
  std::string state;         // agents, frameworks, tasks
  std::string framework_id;  // tasks, offers
  std::string agent_id;      // tasks, offers (an agent id or a hostname)
};

struct WatchFlags;

// What the command line asked of the listings.
struct ListingArgs {
  std::string noun;  // plural ("agents"), once a listing or a show was parsed
  std::string id;    // show: an id, or an agent's hostname, a framework's or role's name
  ListingFilter filter;
};

// Adds `list` and `show` to the nouns agent, framework, task, offer and role
// (which `app` must have already) and the plural shortcuts, with their
// filters (--state checked against the states there are) and --watch.
void AddListingCommands(CLI::App& app, ListingArgs* args, WatchFlags* watch);
// --watch, --interval and --count on `cmd`.
void AddWatchFlags(CLI::App& cmd, WatchFlags* watch);

// `agora NOUN show ID`: one row, all of it. 0 shown, 1 not found or no answer.
int PrintShow(MasterClient& client, const std::string& noun, const std::string& id, bool json);

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
