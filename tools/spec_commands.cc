#include "tools/spec_commands.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/json_text.h"
#include "common/resources_json.h"
#include "frameworks/batch/cron.h"
#include "frameworks/batch/job_spec.h"
#include "frameworks/sdk/agent_totals.h"
#include "frameworks/service/service_spec.h"
#include "tools/framework_client.h"
#include "tools/output.h"
#include "tools/table.h"

namespace agora::tools {
namespace {

using nlohmann::json;

std::string Shown(const std::string& file) { return file == "-" ? "<stdin>" : file; }

// An invalid file: the located error, as compilers print theirs; 1.
int Refused(const std::string& file, const absl::Status& s, bool as_json) {
  const std::string message = InFile(Shown(file), s.message());
  if (as_json) {
    PrintData(json{{"file", file}, {"valid", false}, {"error", message}});
  } else {
    std::cerr << message << "\n";
  }
  return 1;
}

// What the cluster says of specs asking for `asked`: {checked, agents, fits,
// problem}; `check` runs against the active agents' totals.
json ClusterCheck(sdk::MasterClient& master,
                  const std::function<absl::Status(const std::vector<Resources>&)>& check) {
  auto agents = sdk::ActiveAgentTotals(master);
  if (!agents.ok()) return {{"checked", false}, {"problem", agents.status().message()}};
  const absl::Status fits = check(*agents);
  return {{"checked", true},
          {"agents", agents->size()},
          {"fits", fits.ok()},
          {"problem", agents->empty() ? "no active agents: nothing would run yet" : std::string(fits.message())}};
}

void PrintClusterCheck(const json& c) {
  if (!c["checked"].get<bool>()) {
    std::cout << "cluster: not checked (" << c["problem"].get<std::string>() << ")\n";
  } else if (!c["fits"].get<bool>()) {
    std::cout << "cluster: does not fit: " << c["problem"].get<std::string>() << "\n";
  } else if (c["agents"].get<size_t>() == 0) {
    std::cout << "cluster: " << c["problem"].get<std::string>() << "\n";
  } else {
    std::cout << "cluster: every task fits on at least one of the " << c["agents"].get<size_t>()
              << " active agents\n";
  }
}

int ClusterExitCode(const json& c) { return c["checked"].get<bool>() && !c["fits"].get<bool>() ? 1 : 0; }

// The services a file's services depend on that it does not define.
std::vector<std::string> OutsideDependencies(const std::string& text) {
  std::set<std::string> defined, wanted;
  try {
    const YAML::Node root = YAML::Load(text);
    std::vector<YAML::Node> services;
    if (root["services"] && root["services"].IsSequence()) {
      for (const YAML::Node& s : root["services"]) services.push_back(s);
    } else {
      services.push_back(root);
    }
    for (const YAML::Node& s : services) {
      if (!s.IsMap()) continue;
      if (s["name"] && s["name"].IsScalar()) defined.insert(s["name"].Scalar());
      if (s["depends_on"] && s["depends_on"].IsSequence()) {
        for (const YAML::Node& d : s["depends_on"]) {
          if (d.IsScalar()) wanted.insert(d.Scalar());
        }
      }
    }
  } catch (const YAML::Exception&) {
    // The parser says what is wrong with it.
  }
  std::vector<std::string> outside;
  for (const std::string& w : wanted) {
    if (!defined.contains(w)) outside.push_back(w);
  }
  return outside;
}

// The top-level fields whose values differ between two services' YAML.
std::vector<std::string> ChangedFields(const std::string& before, const std::string& after) {
  std::vector<std::string> changed;
  try {
    const YAML::Node a = YAML::Load(before), b = YAML::Load(after);
    std::set<std::string> keys;
    for (const YAML::Node* n : {&a, &b}) {
      for (const auto& kv : *n) keys.insert(kv.first.Scalar());
    }
    for (const std::string& k : keys) {
      if (YAML::Dump(a[k]) != YAML::Dump(b[k])) changed.push_back(k);
    }
  } catch (const YAML::Exception&) {
    changed.push_back("(unreadable)");
  }
  return changed;
}

// `before` and `after` line by line, unchanged lines with " ", removed with
// "-", added with "+" (longest common subsequence; whole specs are short).
std::vector<std::string> LineDiff(const std::string& before, const std::string& after) {
  const std::vector<std::string> a = absl::StrSplit(before, '\n', absl::SkipEmpty());
  const std::vector<std::string> b = absl::StrSplit(after, '\n', absl::SkipEmpty());
  std::vector<std::string> out;
  if (a.size() * b.size() > 4'000'000) {  // too long to align: all out, all in
    for (const std::string& l : a) out.push_back("-" + l);
    for (const std::string& l : b) out.push_back("+" + l);
    return out;
  }
  std::vector<std::vector<uint32_t>> common(a.size() + 1, std::vector<uint32_t>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      common[i][j] = a[i] == b[j] ? common[i + 1][j + 1] + 1 : std::max(common[i + 1][j], common[i][j + 1]);
    }
  }
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      out.push_back(" " + a[i++]);
      ++j;
    } else if (j < b.size() && (i == a.size() || common[i][j + 1] >= common[i + 1][j])) {
      out.push_back("+" + b[j++]);
    } else {
      out.push_back("-" + a[i++]);
    }
  }
  return out;
}

}  // namespace

std::string InFile(const std::string& file, absl::string_view message) {
  // "LINE:COL: ..." from a spec parser.
  const size_t first = message.find(':');
  const size_t second = first == absl::string_view::npos ? first : message.find(':', first + 1);
  const auto digits = [](absl::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isdigit(c); });
  };
  if (second != absl::string_view::npos && digits(message.substr(0, first)) &&
      digits(message.substr(first + 1, second - first - 1))) {
    return absl::StrCat(file, ":", message);
  }
  return absl::StrCat(file, ": ", message);
}

int ValidateJobFile(const std::string& file, bool as_json) {
  std::optional<std::string> text = ReadSpecFile("job validate", file);
  if (!text) return 2;
  auto wf = batch::ParseWorkflow(*text);
  if (!wf.ok()) return Refused(file, wf.status(), as_json);
  int tasks = 0;
  for (const batch::JobSpec& j : wf->jobs) tasks += std::max(j.array, 1);
  if (as_json) {
    PrintData(json{{"file", file}, {"valid", true}, {"name", wf->name}, {"jobs", wf->jobs.size()},
                               {"tasks", tasks},
                               {"schedule", wf->schedule ? json(wf->schedule->cron) : json(nullptr)}});
  } else {
    std::cout << Shown(file) << ": valid: " << wf->name << ", " << wf->jobs.size() << " job"
              << (wf->jobs.size() == 1 ? "" : "s") << ", " << tasks << " task" << (tasks == 1 ? "" : "s")
              << (wf->schedule ? absl::StrCat(", on schedule '", wf->schedule->cron, "' (", wf->schedule->time_zone, ")")
                               : "")
              << "\n";
  }
  return 0;
}

int PlanJobFile(const std::string& file, sdk::MasterClient& master, bool as_json) {
  std::optional<std::string> text = ReadSpecFile("job plan", file);
  if (!text) return 2;
  auto wf = batch::ParseWorkflow(*text);
  if (!wf.ok()) return Refused(file, wf.status(), as_json);
  // A job's step: 1 without dependencies, else one after its latest.
  std::map<std::string, int> step;
  json jobs = json::array();
  int tasks = 0;
  for (int index : batch::TopologicalOrder(*wf)) {
    const batch::JobSpec& j = wf->jobs[index];
    int s = 1;
    json after = json::array();
    for (const batch::Dependency& d : j.depends_on) {
      s = std::max(s, step[d.job] + 1);
      after.push_back(d.on == batch::DependencyCondition::kSuccess
                          ? d.job
                          : absl::StrCat(d.job, " (on ", batch::ConditionName(d.on), ")"));
    }
    step[j.name] = s;
    tasks += std::max(j.array, 1);
    jobs.push_back({{"step", s},
                    {"name", j.name},
                    {"tasks", std::max(j.array, 1)},
                    {"resources", ResourcesJson(j.resources)},
                    {"queue", j.queue},
                    {"after", after},
                    {"retries", j.retries},
                    {"timeout", j.timeout == absl::ZeroDuration() ? json(nullptr)
                                                                   : json(absl::FormatDuration(j.timeout))}});
  }
  json schedule = nullptr;
  if (wf->schedule) {
    json next = json::array();
    absl::TimeZone tz;
    auto cron = batch::CronSchedule::Parse(wf->schedule->cron);
    if (cron.ok() && absl::LoadTimeZone(wf->schedule->time_zone, &tz)) {
      absl::Time t = absl::Now();
      for (int i = 0; i < 3; ++i) {
        t = cron->Next(t, tz);
        next.push_back(absl::FormatTime("%Y-%m-%d %H:%M %Z", t, tz));
      }
    }
    schedule = {{"cron", wf->schedule->cron}, {"time_zone", wf->schedule->time_zone}, {"next", next}};
  }
  std::stable_sort(jobs.begin(), jobs.end(), [](const json& a, const json& b) { return a["step"] < b["step"]; });
  const json cluster = ClusterCheck(master, [&](const std::vector<Resources>& agents) {
    return batch::CheckFits(*wf, agents);
  });
  if (as_json) {
    PrintData(json{{"file", file}, {"name", wf->name}, {"jobs", jobs}, {"tasks", tasks},
                               {"schedule", schedule}, {"cluster", cluster}});
    return ClusterExitCode(cluster);
  }
  std::cout << wf->name << ": " << wf->jobs.size() << " job" << (wf->jobs.size() == 1 ? "" : "s") << ", "
            << tasks << " task" << (tasks == 1 ? "" : "s") << "\n";
  Table t({"STEP", "JOB", "TASKS", "CPUS", "MEM", "DISK", "QUEUE", "AFTER", "RETRIES", "TIMEOUT"});
  for (const json& j : jobs) {
    std::vector<std::string> after;
    for (const json& a : j["after"]) after.push_back(a);
    t.AddRow({absl::StrCat(j["step"].get<int>()), j["name"], absl::StrCat(j["tasks"].get<int>()),
              absl::StrFormat("%g", j["resources"]["cpus"].get<double>()),
              absl::StrFormat("%g", j["resources"]["mem"].get<double>()),
              absl::StrFormat("%g", j["resources"]["disk"].get<double>()), j["queue"],
              after.empty() ? "-" : absl::StrJoin(after, ", "), absl::StrCat(j["retries"].get<int>()),
              j["timeout"].is_null() ? "-" : j["timeout"].get<std::string>()});
  }
  t.Print(std::cout);
  if (!schedule.is_null()) {
    std::vector<std::string> next;
    for (const json& n : schedule["next"]) next.push_back(n);
    std::cout << "schedule: '" << wf->schedule->cron << "' (" << wf->schedule->time_zone
              << "); next: " << absl::StrJoin(next, ", ") << "\n";
  }
  PrintClusterCheck(cluster);
  return ClusterExitCode(cluster);
}

int ValidateServiceFile(const std::string& file, bool as_json) {
  std::optional<std::string> text = ReadSpecFile("service validate", file);
  if (!text) return 2;
  // Services outside the file that it depends on must be deployed by then;
  // offline, that cannot be checked, so they are taken as there and named.
  const std::vector<std::string> outside = OutsideDependencies(*text);
  auto group = service::ParseServices(*text, outside);
  if (!group.ok()) return Refused(file, group.status(), as_json);
  std::vector<std::string> order;
  for (int i : service::DeployOrder(*group)) order.push_back(group->services[i].name);
  if (as_json) {
    PrintData(json{{"file", file}, {"valid", true}, {"services", order}, {"must_be_deployed", outside}});
    return 0;
  }
  std::cout << Shown(file) << ": valid: " << order.size() << " service" << (order.size() == 1 ? "" : "s")
            << ", deployed in the order " << absl::StrJoin(order, ", ");
  if (!outside.empty()) std::cout << "; it depends on " << absl::StrJoin(outside, ", ") << ", which must be deployed";
  std::cout << "\n";
  return 0;
}

int PlanServiceFile(const std::string& file, FrameworkClient& api, sdk::MasterClient& master, bool as_json) {
  std::optional<std::string> text = ReadSpecFile("service plan", file);
  if (!text) return 2;
  // What runs now; without agora-services, planned as if nothing did.
  std::map<std::string, json> deployed;
  std::string unreachable;
  if (auto list = api.Call("GET", "/v1/services"); list.ok()) {
    for (const json& s : *list) deployed[s["name"]] = s;
  } else {
    unreachable = std::string(list.status().message());
  }
  std::vector<std::string> names;
  for (const auto& [name, s] : deployed) names.push_back(name);
  if (!unreachable.empty()) names = OutsideDependencies(*text);
  auto group = service::ParseServices(*text, names);
  if (!group.ok()) return Refused(file, group.status(), as_json);
  json rows = json::array();
  for (int i : service::DeployOrder(*group)) {
    const service::ServiceSpec& spec = group->services[i];
    json row = {{"name", spec.name}, {"instances", spec.instances}};
    auto now = deployed.find(spec.name);
    if (now == deployed.end()) {
      row["action"] = "create";
      row["version"] = 1;
    } else {
      auto shown = api.Call("GET", "/v1/services/" + spec.name);
      const std::string source = shown.ok() ? (*shown)["spec"].get<std::string>() : "";
      const int version = now->second["version"];
      row["current_instances"] = now->second["instances"];
      row["changed"] = ChangedFields(source, spec.source);
      row["action"] = source == spec.source ? "unchanged" : "update";
      row["version"] = source == spec.source ? version : version + 1;
    }
    if (spec.load_balancer) {
      const json& current = now == deployed.end() ? json() : now->second.value("load_balancer", json());
      row["load_balancer"] = spec.load_balancer->port != 0 ? absl::StrCat("port ", spec.load_balancer->port)
                             : current.is_object() && current.value("chosen", false)
                                 ? absl::StrCat("port ", current["port"].get<int>(), " (kept)")
                                                   : std::string("a port agora-services chooses");
    }
    rows.push_back(std::move(row));
  }
  const json cluster = ClusterCheck(master, [&](const std::vector<Resources>& agents) {
    return service::CheckFits(*group, agents);
  });
  if (as_json) {
    PrintData(json{{"file", file}, {"services", rows}, {"cluster", cluster},
                               {"deployed_known", unreachable.empty()}});
    return ClusterExitCode(cluster);
  }
  if (!unreachable.empty()) {
    std::cout << "agora-services not reached (" << unreachable << "): planned as if nothing were deployed\n";
  }
  Table t({"SERVICE", "ACTION", "VERSION", "INSTANCES", "CHANGED", "LOAD BALANCER"});
  for (const json& r : rows) {
    std::vector<std::string> changed;
    for (const json& c : r.value("changed", json::array())) changed.push_back(c);
    const std::string instances = r.contains("current_instances")
                                      ? absl::StrCat(r["current_instances"].get<int>(), " -> ", r["instances"].get<int>())
                                      : absl::StrCat(r["instances"].get<int>());
    t.AddRow({r["name"], r["action"], absl::StrCat("v", r["version"].get<int>()), instances,
              changed.empty() ? "-" : absl::StrJoin(changed, ", "), r.value("load_balancer", "-")});
  }
  t.Print(std::cout);
  PrintClusterCheck(cluster);
  return ClusterExitCode(cluster);
}

int DiffServiceFile(const std::string& file, FrameworkClient& api) {
  std::optional<std::string> text = ReadSpecFile("service diff", file);
  if (!text) return 2;
  auto list = api.Call("GET", "/v1/services");
  if (!list.ok()) {
    std::cerr << "agora service diff: " << list.status().message() << "\n";
    return 2;
  }
  // Dependencies are not what a diff is about.
  std::vector<std::string> names = OutsideDependencies(*text);
  for (const json& s : *list) names.push_back(s["name"]);
  auto group = service::ParseServices(*text, names);
  if (!group.ok()) {
    Refused(file, group.status(), false);
    return 2;
  }
  bool differs = false;
  for (const service::ServiceSpec& spec : group->services) {
    auto shown = api.Call("GET", "/v1/services/" + spec.name);
    if (!shown.ok() && !absl::IsNotFound(shown.status())) {
      std::cerr << "agora service diff: " << shown.status().message() << "\n";
      return 2;
    }
    const std::string before = shown.ok() ? (*shown)["spec"].get<std::string>() : "";
    if (before == spec.source) continue;
    differs = true;
    std::cout << "--- " << (shown.ok() ? absl::StrCat(spec.name, " (deployed, v", (*shown)["version"].get<int>(), ")")
                                       : std::string("/dev/null (not deployed)"))
              << "\n+++ " << spec.name << " (" << Shown(file) << ")\n";
    for (const std::string& line : LineDiff(before, spec.source)) std::cout << line << "\n";
  }
  return differs ? 1 : 0;
}

}  // namespace agora::tools
