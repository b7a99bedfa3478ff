// Every daemon's /metrics, after real work, passes Prometheus' own linter
// (`promtool check metrics`), carries the latency histograms and process_*
// metrics, and names only metrics docs/metrics.md lists. The packaged alert
// rules pass `promtool check rules`, and they and the Grafana dashboard name
// only documented metrics.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <httplib.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/integration/cluster.h"

namespace agora::testing {
namespace {

using nlohmann::json;

// Where scripts/install-deps puts promtool when it is not on PATH.
const char kPromtool[] = "PATH=$PATH:/opt/agora-test-tools/bin promtool";

std::string ReadFile(const std::string& path) {
  std::ostringstream out;
  out << std::ifstream(path).rdbuf();
  return out.str();
}

// The metric names docs/metrics.md lists (in backquotes).
std::set<std::string> DocumentedMetrics() {
  std::set<std::string> names;
  const std::string doc = ReadFile(absl::StrCat(AGORA_SOURCE_DIR, "/docs/metrics.md"));
  static const std::regex name("`((agora|process)_[a-z0-9_]+)`");
  for (std::sregex_iterator it(doc.begin(), doc.end(), name), end; it != end; ++it) names.insert((*it)[1]);
  return names;
}

// The metric families an exposition declares (its `# TYPE` lines).
std::map<std::string, std::string> Families(const std::string& exposition) {
  std::map<std::string, std::string> families;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::ConsumePrefix(&line, "# TYPE ")) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    if (parts.size() == 2) families[parts[0]] = parts[1];
  }
  return families;
}

// The value of the sample written exactly as `series`, or -1.
double Sample(const std::string& exposition, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (absl::ConsumePrefix(&line, series) && absl::ConsumePrefix(&line, " ")) return std::stod(std::string(line));
  }
  return -1;
}

// `promtool check metrics|rules` on `text` (kept in a file in `dir`): its
// exit code and output.
CliResult Promtool(const std::string& check, const std::string& text, const std::string& dir) {
  const std::string file = absl::StrCat(dir, "/promtool-input-", ::getpid());
  std::ofstream(file) << text;
  CliResult r = RunShell(absl::StrCat(kPromtool, " check ", check, check == "metrics" ? " < " : " ", file, " 2>&1"));
  std::filesystem::remove(file);
  return r;
}

TEST(MetricsTest, EveryDaemonsMetricsAreCleanAndDocumented) {
  ASSERT_EQ(RunShell(absl::StrCat(kPromtool, " --version >/dev/null 2>&1")).exit_code, 0)
      << "promtool is missing: scripts/install-deps unpacks it into /opt/agora-test-tools/bin";
  const DevClusterDir cluster_dir("metrics-test");
  const std::string& dir = cluster_dir.path();
  const std::string flags = cluster_dir.flags();
  CliResult up = AgoraCli(absl::StrCat("dev up ", flags, " --agents 1 --port ", FreeMasterPort(), " --json"));
  ASSERT_EQ(up.exit_code, 0) << up.out;
  const json where = json::parse(up.out, nullptr, false);
  const std::string master = absl::StrCat("--master ", where.value("master", ""));
  // Work, so that every histogram has observations: offers, launches,
  // status updates and their acknowledgements, registry commits, HTTP calls.
  CliResult job = AgoraCli(absl::StrCat(master, " job submit ", AGORA_SOURCE_DIR, "/examples/batch/etl.yaml --wait"));
  ASSERT_EQ(job.exit_code, 0) << job.out;
  const std::string spec = dir + "/web.yaml";
  std::ofstream(spec) << "services:\n  - {name: web, command: 'exec python3 -m http.server $PORT_HTTP --bind 127.0.0.1',\n"
                      << "     ports: [http], resources: {cpus: 0.1, mem: 64}, load_balancer: {port: " << FreePort()
                      << "},\n     health_check: {type: http, port: http, path: /, interval: 1s}}\n";
  CliResult deploy = AgoraCli(absl::StrCat(master, " service deploy ", spec, " --wait"));
  ASSERT_EQ(deploy.exit_code, 0) << deploy.out;

  const std::map<std::string, std::string> endpoints = {
      {"agora-master", where.value("master_http", "")},
      {"agora-agent", FirstLine(dir + "/agent-0/http_endpoint")},
      {"agora-batch", FirstLine(dir + "/agora-batch/endpoint")},
      {"agora-services", FirstLine(dir + "/agora-services/endpoint")},
  };
  const std::set<std::string> documented = DocumentedMetrics();
  std::map<std::string, std::string> exposition;
  std::set<std::string> exported;
  for (const auto& [daemon, url] : endpoints) {
    ASSERT_FALSE(url.empty()) << daemon << " wrote no endpoint";
    httplib::Client http(url);
    for (int i = 0; i < 2; ++i) {  // the second carries the first one's duration
      auto res = http.Get("/metrics");
      ASSERT_TRUE(res && res->status == 200) << daemon;
      exposition[daemon] = res->body;
    }
    const std::string& text = exposition[daemon];
    CliResult lint = Promtool("metrics", text, dir);
    EXPECT_EQ(lint.exit_code, 0) << daemon << ":\n" << lint.out;
    EXPECT_EQ(lint.out, "") << daemon << ": promtool warns:\n" << lint.out;
    for (const auto& [family, type] : Families(text)) {
      exported.insert(family);
      EXPECT_TRUE(documented.contains(family)) << daemon << " exports " << family << " (" << type
                                               << "), which docs/metrics.md does not list";
    }
    for (const char* each : {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                             "process_start_time_seconds"}) {
      EXPECT_GT(Sample(text, each), 0) << daemon << " " << each;
    }
    EXPECT_GE(Sample(text, R"(agora_http_request_duration_seconds_count{method="GET",route="/metrics"})"), 1)
        << daemon;
    EXPECT_NE(text.find("agora_build_info{version="), std::string::npos) << daemon;
  }
  for (const std::string& name : documented) {
    EXPECT_TRUE(exported.contains(name)) << "docs/metrics.md lists " << name << ", which no daemon exports";
  }
  const std::string& m = exposition["agora-master"];
  for (const char* histogram : {"agora_offer_to_launch_seconds", "agora_launch_to_running_seconds",
                                "agora_allocation_pass_seconds", "agora_registry_commit_seconds"}) {
    EXPECT_GE(Sample(m, absl::StrCat(histogram, "_count")), 1) << histogram;
    EXPECT_EQ(Sample(m, absl::StrCat(histogram, "_count")),
              Sample(m, absl::StrCat(histogram, "_bucket{le=\"+Inf\"}")))
        << histogram;
  }
  EXPECT_GE(Sample(m, R"(agora_message_duration_seconds_count{kind="accept"})"), 1);
  EXPECT_GT(Sample(m, "agora_capacity_memory_bytes"), 1 << 20);  // bytes, not MiB
  EXPECT_GE(Sample(exposition["agora-agent"], "agora_agent_status_update_round_trip_seconds_count"), 1);
  EXPECT_GE(Sample(exposition["agora-batch"], R"(agora_http_request_duration_seconds_count{method="POST",route="/v1/runs"})"), 1);
}

// Every metric a PromQL text names, by its family (histogram series'
// _bucket, _sum and _count belong to their histogram).
std::set<std::string> NamedMetrics(const std::string& text) {
  std::set<std::string> names;
  static const std::regex name("\\b((agora|process)_[a-z0-9_]+)");
  for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it) {
    std::string n = (*it)[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (absl::EndsWith(n, suffix) && !absl::EndsWith(n, "_total")) {
        n.resize(n.size() - strlen(suffix));
        break;
      }
    }
    names.insert(n);
  }
  return names;
}

TEST(MetricsTest, AlertRulesAndDashboardNameOnlyDocumentedMetrics) {
  const std::string rules = absl::StrCat(AGORA_SOURCE_DIR, "/packaging/prometheus/agora-alerts.yml");
  CliResult check = RunShell(absl::StrCat(kPromtool, " check rules ", rules, " 2>&1"));
  EXPECT_EQ(check.exit_code, 0) << check.out;
  const std::set<std::string> documented = DocumentedMetrics();
  const std::string rules_text = ReadFile(rules);
  for (const std::string& n : NamedMetrics(rules_text)) {
    EXPECT_TRUE(documented.contains(n)) << "the alert rules name " << n << ", which docs/metrics.md does not list";
  }
  const json dashboard =
      json::parse(std::ifstream(absl::StrCat(AGORA_SOURCE_DIR, "/packaging/grafana/agora-dashboard.json")), nullptr,
                  false);
  ASSERT_TRUE(dashboard.is_object());
  size_t queries = 0;
  for (const json& panel : dashboard["panels"]) {
    for (const json& target : panel.value("targets", json::array())) {
      const std::string expr = target.value("expr", "");
      ++queries;
      // Every query is valid PromQL: promtool parses it as a rule.
      const std::string rule = absl::StrCat("groups:\n- name: q\n  rules:\n  - record: q:check\n    expr: ",
                                            json(expr).dump(), "\n");
      CliResult parsed = Promtool("rules", rule, std::filesystem::temp_directory_path());
      EXPECT_EQ(parsed.exit_code, 0) << panel.value("title", "") << ": " << expr << "\n" << parsed.out;
      for (const std::string& n : NamedMetrics(expr)) {
        EXPECT_TRUE(documented.contains(n)) << "the dashboard panel " << panel.value("title", "") << " names " << n
                                            << ", which docs/metrics.md does not list";
      }
    }
  }
  EXPECT_GE(queries, 10u);
}

}  // namespace
}  // namespace agora::testing
