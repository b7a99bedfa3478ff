#include "tools/listings.h"
#include "common/json_text.h"

#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/cli.h"
#include "agora/task.h"
#include "common/version.h"
#include "tools/table.h"
#include "tools/output.h"

namespace agora::tools {
namespace {

using nlohmann::json;

std::string Num(double v) { return absl::StrFormat("%g", v); }

std::string UsedOfTotal(const json& used, const json& total, const char* key) {
  return absl::StrCat(Num(used.value(key, 0.0)), "/", Num(total.value(key, 0.0)));
}

// [[31000, 31005], [31010, 31010]] -> "31000-31005,31010".
std::string PortsText(const json& ranges) {
  std::vector<std::string> parts;
  for (const json& r : ranges) {
    if (!r.is_array() || r.size() != 2) continue;
    parts.push_back(r[0] == r[1] ? JsonText(r[0]) : absl::StrCat(JsonText(r[0]), "-", JsonText(r[1])));
  }
  return absl::StrJoin(parts, ",");
}

std::string Short(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 1) + "~";
}

Table AgentsTable(const json& rows) {
  Table t({"ID", "HOSTNAME", "STATE", "CPUS", "MEM", "DISK", "TASKS", "LIMITS", "ATTRIBUTES"});
  for (const json& a : rows) {
    std::vector<std::string> attrs;
    for (const auto& [k, v] : a["attributes"].items()) attrs.push_back(absl::StrCat(k, ":", v.get<std::string>()));
    // An agent that cannot checkpoint launches nothing: its state says so.
    const std::string state = a.value("checkpoint_error", "").empty()
                                  ? a.value("state", "")
                                  : a.value("state", "") + " (cannot checkpoint)";
    t.AddRow({a["id"], a["hostname"], state, UsedOfTotal(a["used"], a["resources"], "cpus"),
              UsedOfTotal(a["used"], a["resources"], "mem"),
              UsedOfTotal(a["used"], a["resources"], "disk"), absl::StrCat(a.value("tasks", 0)),
              a.value("limits_enforced", false)
                  ? absl::StrCat("cgroup v", a.value("cgroup_version", 0))
                  : "none",
              absl::StrJoin(attrs, ";")});
  }
  return t;
}

Table FrameworksTable(const json& rows) {
  Table t({"ID", "NAME", "ROLE", "STATE", "TASKS", "OFFERS", "ENDPOINT"});
  for (const json& f : rows) {
    t.AddRow({f["id"], f["name"], f["role"], f["state"], absl::StrCat(f.value("active_tasks", 0)),
              absl::StrCat(f.value("offers", 0)), f.value("endpoint", "")});
  }
  return t;
}

Table TasksTable(const json& rows) {
  // CPUS and MEM: what it asked for, "used/asked" once its agent measured it.
  Table t({"ID", "NAME", "FRAMEWORK", "HOST", "STATE", "CPUS", "MEM", "MESSAGE"});
  for (const json& k : rows) {
    auto used_of = [&](const char* used, const char* asked) {
      const std::string a = Num(k["resources"].value(asked, 0.0));
      return k.contains("usage") ? absl::StrFormat("%.3g/%s", k["usage"].value(used, 0.0), a) : a;
    };
    t.AddRow({k["id"], k["name"], k["framework_id"], k.value("hostname", ""), k["state"], used_of("cpus", "cpus"),
              used_of("mem_mb", "mem"), Short(k.value("message", ""), 60)});
  }
  return t;
}

Table OffersTable(const json& rows) {
  Table t({"ID", "FRAMEWORK", "HOST", "CPUS", "MEM", "DISK", "PORTS"});
  for (const json& o : rows) {
    const json& r = o["resources"];
    t.AddRow({o["id"], o["framework_id"], o["hostname"], Num(r.value("cpus", 0.0)),
              Num(r.value("mem", 0.0)), Num(r.value("disk", 0.0)), PortsText(r.value("ports", json::array()))});
  }
  return t;
}

Table RolesTable(const json& rows) {
  // CPUS, MEM, DISK: what the role's tasks hold, "/cap" under a quota.
  Table t({"ROLE", "WEIGHT", "FRAMEWORKS", "CPUS", "MEM", "DISK", "OFFERED"});
  for (const json& r : rows) {
    auto held = [&](const char* key) {
      const std::string used = Num(r["used"].value(key, 0.0));
      const json& quota = r["quota"];
      return quota.is_object() && quota[key].is_number() ? absl::StrCat(used, "/", Num(quota[key].get<double>()))
                                                         : used;
    };
    const json& offered = r["offered"];
    t.AddRow({r["name"], Num(r.value("weight", 1.0)), absl::StrCat(r.value("frameworks", 0)),
              held("cpus"), held("mem"), held("disk"),
              absl::StrCat("cpus:", Num(offered.value("cpus", 0.0)), ";mem:", Num(offered.value("mem", 0.0)))});
  }
  return t;
}

// The master's answer to `noun`, parsed; an error was printed when null.
// The master's `noun` listing; errors are printed as the command `command`'s.
std::optional<json> Fetch(MasterClient& client, const std::string& noun, const std::string& command) {
  auto text = client.Query(noun);
  if (!text.ok()) {
    PrintError(command, text.status().message());
    return std::nullopt;
  }
  json rows = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (rows.is_discarded() || !(rows.is_array() || (noun == "security" && rows.is_object()))) {
    PrintError(command, "the master sent malformed JSON");
    return std::nullopt;
  }
  return rows;
}

bool Keep(const json& row, const ListingFilter& f) {
  if (!f.state.empty() && row.value("state", "") != f.state) return false;
  if (!f.framework_id.empty() && row.value("framework_id", "") != f.framework_id) return false;
  if (!f.agent_id.empty() && row.value("agent_id", "") != f.agent_id &&
      row.value("hostname", "") != f.agent_id) {
    return false;
  }
  return true;
}

}  // namespace

void AddWatchFlags(CLI::App& cmd, WatchFlags* watch) {
  cmd.add_flag("--watch,-w", watch->watch, "print it again every --interval until Ctrl-C");
  AddDurationFlag(cmd, "--interval", &watch->interval, "with --watch: how often");
  cmd.add_option("--count", watch->count, "with --watch: stop after this many (0: never)")
      ->check(CLI::NonNegativeNumber);
}

void AddListingCommands(CLI::App& app, ListingArgs* a, WatchFlags* watch) {
  std::vector<std::string> task_states;
  for (int s = 0; s < kTaskStateCount; ++s) task_states.emplace_back(TaskStateName(static_cast<TaskState>(s)));
  struct Noun {
    const char* singular;
    const char* plural;
    std::vector<std::string> states;  // empty: no --state
    bool by_framework_and_agent;
    const char* show_id;
  };
  const Noun nouns[] = {
      {"agent", "agents", {"active", "unreachable", "draining", "drained", "gone"}, false, "an agent id or hostname"},
      {"framework", "frameworks", {"active", "disconnected"}, false, "a framework id or name"},
      {"task", "tasks", task_states, true, "a task id"},
      {"offer", "offers", {}, true, "an offer id"},
      {"role", "roles", {}, false, "a role name"},
  };
  for (const Noun& n : nouns) {
    CLI::App* noun = app.get_subcommand(n.singular);
    const std::string plural = n.plural;
    CLI::App* list = noun->add_subcommand(
        "list", absl::StrCat("list the cluster's ", plural, " (`agora ", plural, "` for short)\nExample: agora ",
                             n.singular, " list", plural == "tasks" ? " --state running --agent agent1 --watch" : " -o wide"));
    CLI::App* shortcut = app.add_subcommand(plural, absl::StrCat("list the cluster's ", plural, " (agora ", n.singular,
                                                                 " list)\nExample: agora ", plural, " --watch"));
    for (CLI::App* listing : {list, shortcut}) {
      AddWatchFlags(*listing, watch);
      if (!n.states.empty()) {
        listing->add_option("--state", a->filter.state, "only rows in this state")->check(CLI::IsMember(n.states));
      }
      if (n.by_framework_and_agent) {
        listing->add_option("--framework", a->filter.framework_id, "only this framework's rows");
        listing->add_option("--agent", a->filter.agent_id, "only this agent's rows (id or hostname)");
      }
      listing->final_callback([a, plural] { a->noun = plural; });
    }
    CLI::App* show = noun->add_subcommand(
        "show", absl::StrCat("one ", n.singular, ", all the master knows of it\nExample: agora ", n.singular,
                             " show ", plural == "agents" ? "agent1" : plural == "roles" ? "batch" : "ID", " -o yaml"));
    show->add_option("id", a->id, n.show_id)->required();
    show->final_callback([a, plural] { a->noun = plural; });
  }
}

int PrintShow(MasterClient& client, const std::string& noun, const std::string& id, bool as_json) {
  const std::string singular = noun.substr(0, noun.size() - 1);
  const std::string command = singular + " show";
  std::optional<json> rows = Fetch(client, noun, command);
  if (!rows) return 1;
  const json* found = nullptr;
  for (const json& row : *rows) {
    // By id; else an agent by hostname (not a gone one), a framework or role by name.
    if (row.value("id", "") == id || (row.value("name", "") == id && noun != "tasks")) found = &row;
    if (found == nullptr && noun == "agents" && row.value("hostname", "") == id && row.value("state", "") != "gone") {
      found = &row;
    }
    if (found != nullptr) break;
  }
  if (found == nullptr) {
    PrintError(command, absl::StrCat("no ", singular, " '", id, "' (agora ", noun, " lists them)"));
    return 1;
  }
  if (as_json) {
    PrintData(*found);
    return 0;
  }
  Table t({"", ""});
  for (const auto& [key, value] : found->items()) {
    t.AddRow({key, value.is_string() ? value.get<std::string>() : JsonText(value)});
  }
  t.Print(std::cout);
  return 0;
}

int PrintListing(MasterClient& client, const std::string& noun, bool as_json,
                 const ListingFilter& filter) {
  std::optional<json> all = Fetch(client, noun, noun);
  if (!all) return 1;
  json rows = json::array();
  for (const json& row : *all) {
    if (Keep(row, filter)) rows.push_back(row);
  }
  if (as_json) {
    PrintData(rows);
    return 0;
  }
  Table table = noun == "agents"       ? AgentsTable(rows)
                : noun == "frameworks" ? FrameworksTable(rows)
                : noun == "tasks"      ? TasksTable(rows)
                : noun == "roles"      ? RolesTable(rows)
                                       : OffersTable(rows);
  table.Print(std::cout);
  return 0;
}

int PrintVersions(MasterClient& client, bool as_json) {
  auto master = client.Query("version");
  json about = master.ok() ? json::parse(*master, nullptr, /*allow_exceptions=*/false) : json();
  const bool known = master.ok() && about.is_object();
  const std::string problem = master.ok() ? "the master sent malformed JSON" : std::string(master.status().message());
  if (as_json) {
    PrintData(json{{"client", json::parse(VersionJson("agora"))},
                               {"master", known ? about : json{{"error", problem}}}});
  } else {
    std::cout << "client: " << VersionLine("agora") << "\n";
    if (known) {
      std::cout << "master: " << about.value("name", "?") << " " << about.value("version", "?")
                << " (commit " << about.value("commit", "?") << ")\n";
    }
  }
  if (!known) std::cerr << "agora version: the master: " << problem << "\n";
  return known ? 0 : 1;
}

int PrintStatus(MasterClient& client, bool as_json) {
  std::optional<json> agents = Fetch(client, "agents", "status");
  std::optional<json> frameworks = agents ? Fetch(client, "frameworks", "status") : std::nullopt;
  std::optional<json> tasks = frameworks ? Fetch(client, "tasks", "status") : std::nullopt;
  std::optional<json> security = tasks ? Fetch(client, "security", "status") : std::nullopt;
  if (!security) return 1;
  // (A master older than the "leader" query answers with an error: no row.)
  auto leader_text = client.Query("leader");
  json leader = leader_text.ok() ? json::parse(*leader_text, nullptr, false) : json();
  auto count_states = [](const json& rows) {
    json counts = json::object();
    for (const json& r : rows) {
      const std::string state = r.value("state", "?");
      counts[state] = counts.value(state, 0) + 1;
    }
    return counts;
  };
  json total = {{"cpus", 0.0}, {"mem", 0.0}, {"disk", 0.0}};
  json used = total;
  for (const json& a : *agents) {
    if (a.value("state", "") == "gone") continue;
    for (const char* key : {"cpus", "mem", "disk"}) {
      total[key] = total[key].get<double>() + a["resources"].value(key, 0.0);
      used[key] = used[key].get<double>() + a["used"].value(key, 0.0);
    }
  }
  json status = {{"agents", count_states(*agents)},
                 {"resources", {{"total", total}, {"used", used}}},
                 {"frameworks", count_states(*frameworks)},
                 {"tasks", count_states(*tasks)},
                 {"security", *security}};
  if (leader.is_object()) status["master"] = leader;
  if (as_json) {
    PrintData(status);
    return 0;
  }
  auto by_state = [](const json& counts) {
    std::vector<std::string> parts;
    for (const auto& [state, n] : counts.items()) parts.push_back(absl::StrCat(n.get<int>(), " ", state));
    return parts.empty() ? std::string("none") : absl::StrJoin(parts, ", ");
  };
  Table table({"", ""});
  if (leader.is_object()) {
    table.AddRow({"master", leader.value("mode", "") == "zookeeper"
                                ? absl::StrCat(leader.value("http", ""), " leads since ",
                                               leader.value("leading_since", ""),
                                               ", elected through ZooKeeper ", leader.value("zk", ""))
                                : absl::StrCat(leader.value("http", ""), " alone since ",
                                               leader.value("leading_since", ""), ", registry ",
                                               leader.value("registry", ""))});
  }
  table.AddRow({"agents", by_state(status["agents"])});
  for (const char* key : {"cpus", "mem", "disk"}) {
    table.AddRow({key, absl::StrCat(Num(used[key]), " of ", Num(total[key]), " used")});
  }
  table.AddRow({"frameworks", by_state(status["frameworks"])});
  table.AddRow({"tasks", by_state(status["tasks"])});
  const json& s = *security;
  table.AddRow(
      {"security",
       s.value("mode", "") == "curve"
           ? absl::StrCat("CurveZMQ: ", s["trusted_keys"].size(), " trusted keys, ",
                          s["operator_keys"].size(), " operator keys; ",
                          s.value("handshakes_refused", 0), " handshakes refused, ",
                          s.value("permission_denied", 0), " requests denied")
           : "OPEN: connections are neither encrypted nor authenticated (development only)"});
  if (s.contains("http")) {
    const json& h = s["http"];
    const std::string reach = h.value("loopback_only", false) ? "this machine only" : "reachable from the network";
    table.AddRow({"http", absl::StrCat(h.value("endpoint", ""), " (", reach,
                                       h.value("authenticated", false)
                                           ? "; TLS, operators' tokens only)"
                                           : ", not authenticated)")});
  }
  table.Print(std::cout);
  return 0;
}

int Watch(const WatchFlags& flags, const std::string& title, const std::function<int()>& print) {
  const bool tty = ::isatty(STDOUT_FILENO);
  int rc = 0;  // (Ctrl-C ends the process: DieOnSignals in main)
  for (int n = 0; flags.count == 0 || n < flags.count; ++n) {
    if (tty) std::cout << "\033[H\033[2J";
    if (tty || n > 0) {
      std::cout << "every " << absl::FormatDuration(flags.interval) << ": " << title << "   "
                << absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone()) << "\n\n";
    }
    rc = print();
    std::cout << std::flush;
    if (flags.count != 0 && n + 1 == flags.count) break;
    absl::SleepFor(flags.interval);
    if (!tty) std::cout << "\n";
  }
  return rc;
}

}  // namespace agora::tools
