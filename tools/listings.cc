#include "tools/listings.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/table.h"

namespace agora::tools {
namespace {

using nlohmann::json;

std::string Num(double v) { return absl::StrFormat("%g", v); }

std::string UsedOfTotal(const json& used, const json& total, const char* key) {
  return absl::StrCat(Num(used.value(key, 0.0)), "/", Num(total.value(key, 0.0)));
}

std::string Short(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 1) + "~";
}

Table AgentsTable(const json& rows) {
  Table t({"ID", "HOSTNAME", "STATE", "CPUS", "MEM", "DISK", "TASKS", "LIMITS", "ATTRIBUTES"});
  for (const json& a : rows) {
    std::vector<std::string> attrs;
    for (const auto& [k, v] : a["attributes"].items()) attrs.push_back(absl::StrCat(k, ":", v.get<std::string>()));
    t.AddRow({a["id"], a["hostname"], a["state"], UsedOfTotal(a["used"], a["resources"], "cpus"),
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
  Table t({"ID", "NAME", "FRAMEWORK", "HOST", "STATE", "CPUS", "MEM", "MESSAGE"});
  for (const json& k : rows) {
    t.AddRow({k["id"], k["name"], k["framework_id"], k.value("hostname", ""), k["state"],
              Num(k["resources"].value("cpus", 0.0)), Num(k["resources"].value("mem", 0.0)),
              Short(k.value("message", ""), 60)});
  }
  return t;
}

Table OffersTable(const json& rows) {
  Table t({"ID", "FRAMEWORK", "HOST", "CPUS", "MEM", "DISK", "PORTS"});
  for (const json& o : rows) {
    const json& r = o["resources"];
    t.AddRow({o["id"], o["framework_id"], o["hostname"], Num(r.value("cpus", 0.0)),
              Num(r.value("mem", 0.0)), Num(r.value("disk", 0.0)), r.value("ports", "")});
  }
  return t;
}

}  // namespace

int PrintListing(MasterClient& client, const std::string& noun, bool as_json) {
  auto text = client.Query(noun);
  if (!text.ok()) {
    std::cerr << "agora " << noun << ": " << text.status().message() << "\n";
    return 1;
  }
  if (as_json) {
    std::cout << *text << "\n";
    return 0;
  }
  json rows = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (rows.is_discarded() || !rows.is_array()) {
    std::cerr << "agora " << noun << ": the master sent malformed JSON\n";
    return 1;
  }
  Table table = noun == "agents"       ? AgentsTable(rows)
                : noun == "frameworks" ? FrameworksTable(rows)
                : noun == "tasks"      ? TasksTable(rows)
                                       : OffersTable(rows);
  table.Print(std::cout);
  return 0;
}

}  // namespace agora::tools
