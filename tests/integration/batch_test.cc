// agora-batch end to end: the real master, agents and agora-batch on
// loopback, driven through the `agora job|queue|cron` commands.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <httplib.h>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/integration/framework_fixture.h"

namespace agora::testing {
namespace {

using nlohmann::json;

// Each job appends "NAME start|end SECONDS" to DIR/log.
std::string Stamp(const std::string& dir, const std::string& name, const std::string& body) {
  const std::string log = dir + "/log";
  return absl::StrCat("echo ", name, " start $(date +%s.%N) >> ", log, "; ", body, "; echo ", name,
                      " end $(date +%s.%N) >> ", log);
}

std::map<std::string, std::pair<double, double>> Spans(const std::vector<std::string>& lines) {
  std::map<std::string, std::pair<double, double>> spans;
  for (const std::string& line : lines) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() != 3) continue;
    double t = 0;
    EXPECT_TRUE(absl::SimpleAtod(f[2], &t)) << line;
    (f[1] == "start" ? spans[f[0]].first : spans[f[0]].second) = t;
  }
  return spans;
}

TEST_F(BatchTest, DiamondDagRunsInDependencyOrder) {
  Start();
  const std::string d = dir();
  std::string yaml = absl::StrCat(R"(jobs:
  - {name: a, command: ")", Stamp(d, "a", "sleep 0.3"), R"("}
  - {name: b, command: ")", Stamp(d, "b", "sleep 0.3"), R"(", depends_on: [a]}
  - {name: c, command: ")", Stamp(d, "c", "sleep 0.3"), R"(", depends_on: [a]}
  - {name: d, command: ")", Stamp(d, "d", "sleep 0.3"), R"(", depends_on: [b, c]}
  - {name: e, command: ")", Stamp(d, "e", "true"), R"(", depends_on: [d]}
)");
  CliResult r = Cli({"job", "submit", Write("diamond.yaml", yaml), "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto s = Spans(Lines("log"));
  ASSERT_EQ(s.size(), 5u);
  EXPECT_GE(s["b"].first, s["a"].second);
  EXPECT_GE(s["c"].first, s["a"].second);
  EXPECT_GE(s["d"].first, std::max(s["b"].second, s["c"].second));
  EXPECT_GE(s["e"].first, s["d"].second);
  // b and c are independent: they ran side by side.
  EXPECT_LT(s["c"].first, s["b"].second);
  EXPECT_LT(s["b"].first, s["c"].second);
  // The framework's Prometheus metrics count them.
  httplib::Client http(Endpoint());
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("agora_batch_jobs{state=\"succeeded\"} 5\n"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("agora_batch_tasks_launched_total 5\n"), std::string::npos);
}

// Before a submission: validate offline, plan against the cluster's agents;
// neither submits anything.
TEST_F(BatchTest, ValidateAndPlanExplainAFileAndSubmitNothing) {
  Start({.agents = 1});
  const std::string file = Write("wf.yaml", "name: wf\njobs:\n  - {name: a, command: 'true'}\n"
                                            "  - {name: b, command: 'true', array: 3, depends_on: [a]}\n"
                                            "  - {name: c, command: 'true', depends_on: [{job: b, on: any}]}\n");
  CliResult valid = Cli({"job", "validate", file});
  EXPECT_EQ(valid.exit_code, 0) << valid.out;
  EXPECT_NE(valid.out.find("valid: wf, 3 jobs, 5 tasks"), std::string::npos) << valid.out;
  const json plan = CliJson({"job", "plan", file});
  ASSERT_EQ(plan["jobs"].size(), 3u) << plan.dump();
  EXPECT_EQ(plan["jobs"][1]["name"], "b");
  EXPECT_EQ(plan["jobs"][1]["step"], 2);
  EXPECT_EQ(plan["jobs"][1]["tasks"], 3);
  EXPECT_EQ(plan["jobs"][2]["after"], json({"b (on any)"}));
  EXPECT_TRUE(plan["cluster"]["fits"].get<bool>()) << plan.dump();
  EXPECT_EQ(plan["cluster"]["agents"], 1);

  const std::string huge = Write("huge.yaml", "name: huge\ncommand: 'true'\nresources: {cpus: 512}\n");
  CliResult too_big = Cli({"job", "plan", huge});
  EXPECT_EQ(too_big.exit_code, 1) << too_big.out;
  EXPECT_NE(too_big.out.find("cluster: does not fit: jobs[0].resources: no agent could ever hold it"), std::string::npos)
      << too_big.out;
  const std::string typo = Write("typo.yaml", "name: t\ncommand: 'true'\nretires: 2\n");
  for (const char* verb : {"validate", "submit"}) {  // offline and by agora-batch, the same words
    CliResult r = Cli({"job", verb, typo});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find(typo + ":3:10: retires: unknown field; did you mean 'retries'?"), std::string::npos)
        << verb << ": " << r.out;
  }
  EXPECT_EQ(CliJson({"job", "list"}).size(), 0u);
}

TEST_F(BatchTest, FailingJobIsRetriedWithBackoffThenDependantsFollowTheirCondition) {
  Start();
  std::string yaml = absl::StrCat(R"(jobs:
  - name: flaky
    command: echo $(date +%s.%N) >> )", dir(), R"(/attempts; exit 3
    retries: 2
    backoff: 500ms
  - {name: on-success, command: "true", depends_on: [flaky]}
  - {name: on-failure, command: "true", depends_on: [{job: flaky, on: failure}]}
  - {name: on-any, command: "true", depends_on: [{job: flaky, on: any}]}
)");
  CliResult r = Cli({"job", "submit", Write("flaky.yaml", yaml), "--wait"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  std::vector<std::string> attempts = Lines("attempts");
  ASSERT_EQ(attempts.size(), 3u);  // the first try and two retries
  double t[3];
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(absl::SimpleAtod(attempts[i], &t[i]));
  EXPECT_GE(t[1] - t[0], 0.5);  // backoff 500ms ...
  EXPECT_GE(t[2] - t[1], 1.0);  // ... doubled
  json jobs = CliJson({"job", "list"});
  std::map<std::string, json> by_name;
  for (const json& j : jobs) by_name[j["name"]] = j;
  EXPECT_EQ(by_name["flaky"]["state"], "failed");
  EXPECT_EQ(by_name["flaky"]["attempts"], 3);
  EXPECT_EQ(by_name["flaky"]["exit_code"], 3);
  EXPECT_EQ(by_name["on-success"]["state"], "failed");
  EXPECT_EQ(by_name["on-success"]["attempts"], 0);
  EXPECT_NE(by_name["on-success"]["message"].get<std::string>().find("not run"), std::string::npos);
  EXPECT_EQ(by_name["on-failure"]["state"], "succeeded");
  EXPECT_EQ(by_name["on-any"]["state"], "succeeded");
}

TEST_F(BatchTest, ArrayOfTwoHundredTasksFinishes) {
  Start();
  std::filesystem::create_directories(dir() + "/array");
  std::filesystem::permissions(dir() + "/array", std::filesystem::perms::all);  // tasks run as nobody
  std::string yaml = absl::StrCat("name: shards\ncommand: touch ", dir(),
                                  "/array/$AGORA_ARRAY_INDEX\narray: 200\nresources: {cpus: 0.1, mem: 16}\n");
  CliResult r = Cli({"job", "submit", Write("array.yaml", yaml), "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::set<std::string> indexes;
  for (const auto& e : std::filesystem::directory_iterator(dir() + "/array")) {
    indexes.insert(e.path().filename());
  }
  EXPECT_EQ(indexes.size(), 200u);
  EXPECT_TRUE(indexes.contains("0") && indexes.contains("199"));
}

// One agent with one cpu and jobs of one cpu: the queue's order is the order
// they run in.
ClusterOptions OneSlot() {
  ClusterOptions o;
  o.agents = 1;
  o.agent_resources = "cpus:1;mem:2048;disk:1000";
  return o;
}

TEST_F(BatchTest, SjfAndPriorityOrdersOnOneSlot) {
  Start(OneSlot());
  ASSERT_EQ(Cli({"queue", "set-policy", "short", "sjf"}).exit_code, 0);
  ASSERT_EQ(Cli({"queue", "set-policy", "urgent", "priority", "--x0", "5"}).exit_code, 0);
  const std::string order = dir() + "/order";
  auto blocker = Submit(absl::StrCat("name: blocker\ncommand: touch ", dir(),
                                     "/go; sleep 1\nresources: {cpus: 1}\n"));
  ASSERT_TRUE(WaitForJob(blocker + ".blocker", "running"));
  // Submitted while the slot is busy, in an order that is neither policy's.
  Submit(absl::StrCat(R"(jobs:
  - {name: s30, command: "echo s30 >> )", order, R"(", queue: short, estimated_duration: 30s, resources: {cpus: 1}}
  - {name: s10, command: "echo s10 >> )", order, R"(", queue: short, estimated_duration: 10s, resources: {cpus: 1}}
  - {name: s20, command: "echo s20 >> )", order, R"(", queue: short, estimated_duration: 20s, resources: {cpus: 1}}
)"));
  std::string run = Submit(absl::StrCat(R"(jobs:
  - {name: p1, command: "echo p1 >> )", order, R"(", queue: urgent, priority: 1, resources: {cpus: 1}}
  - {name: p9, command: "echo p9 >> )", order, R"(", queue: urgent, priority: 9, resources: {cpus: 1}}
  - {name: p5, command: "echo p5 >> )", order, R"(", queue: urgent, priority: 5, resources: {cpus: 1}}
)"));
  ASSERT_TRUE(WaitFor([&] { return Lines("order").size() == 6; }, absl::Seconds(60)));
  std::vector<std::string> sjf, prio;
  for (const std::string& l : Lines("order")) (l[0] == 's' ? sjf : prio).push_back(l);
  EXPECT_EQ(sjf, (std::vector<std::string>{"s10", "s20", "s30"}));
  EXPECT_EQ(prio, (std::vector<std::string>{"p9", "p5", "p1"}));
}

TEST_F(BatchTest, SrtfPreemptsTheLongerJobWhichCompletesLater) {
  Start(OneSlot());
  ASSERT_EQ(Cli({"queue", "set-policy", "default", "srtf"}).exit_code, 0);
  const std::string log = dir() + "/srtf";
  std::string long_run = Submit(absl::StrCat(
      "name: long\ncommand: echo long-$AGORA_ATTEMPT >> ", log,
      "; sleep 2\nestimated_duration: 10m\nresources: {cpus: 1}\n"));
  ASSERT_TRUE(WaitFor([&] { return Lines("srtf").size() == 1; }, absl::Seconds(30)));
  std::string short_run = Submit(absl::StrCat("name: short\ncommand: echo short >> ", log,
                                              "\nestimated_duration: 1s\nresources: {cpus: 1}\n"));
  ASSERT_TRUE(WaitForJob(long_run + ".long", "succeeded", absl::Seconds(60)));
  EXPECT_EQ(Lines("srtf"), (std::vector<std::string>{"long-1", "short", "long-2"}));
  json job = Job(long_run + ".long");
  EXPECT_EQ(job["preemptions"], 1);
  EXPECT_EQ(job["attempts"], 2);
  EXPECT_EQ(Job(short_run + ".short")["state"], "succeeded");
}

TEST_F(BatchTest, TimeoutKillsTheJob) {
  Start();
  // Its pid as the host sees it (tasks have pid namespaces of their own).
  std::string run = Submit(absl::StrCat("name: slow\ncommand: readlink /proc/self/ns/pid > ", dir(),
                                        "/ns; exec sleep 60\ntimeout: 1s\n"));
  ASSERT_TRUE(WaitForJob(run + ".slow", "timed_out"));
  EXPECT_EQ(Job(run + ".slow")["message"], "timed out after 1s");
  std::vector<std::string> ns = Lines("ns");
  ASSERT_EQ(ns.size(), 1u);
  // Nothing is left in the job's pid namespace.
  EXPECT_TRUE(WaitFor([&] { return PidsInNamespace(ns[0]).empty(); }, absl::Seconds(5)));
}

TEST_F(BatchTest, KillingARunningJobStopsItAndFailsWhatNeedsIt) {
  Start();
  std::string run = Submit(R"(jobs:
  - {name: sleeper, command: "sleep 60"}
  - {name: after, command: "true", depends_on: [sleeper]}
)");
  ASSERT_TRUE(WaitForJob(run + ".sleeper", "running"));
  CliResult k = Cli({"job", "kill", run + ".sleeper"});
  ASSERT_EQ(k.exit_code, 0) << k.out;
  ASSERT_TRUE(WaitForJob(run + ".sleeper", "killed"));
  EXPECT_EQ(Job(run + ".after")["state"], "failed");
  // Killing it again is an error that says why.
  CliResult again = Cli({"job", "kill", run + ".sleeper"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("already ended: killed"), std::string::npos) << again.out;
  // Retrying it runs it (and what waited on it) again.
  ASSERT_EQ(Cli({"job", "retry", run + ".sleeper"}).exit_code, 0);
  EXPECT_TRUE(WaitForJob(run + ".sleeper", "running"));
  EXPECT_EQ(Job(run + ".after")["state"], "waiting");
}

TEST_F(BatchTest, RestartMidWorkflowFinishesWithNoJobRunTwice) {
  Start();
  const std::string log = dir() + "/chain";
  std::string run = Submit(absl::StrCat(R"(jobs:
  - {name: a, command: "echo a >> )", log, R"(; sleep 1"}
  - {name: b, command: "echo b >> )", log, R"(; sleep 2", depends_on: [a]}
  - {name: c, command: "echo c >> )", log, R"(; sleep 1", depends_on: [b]}
  - {name: d, command: "echo d >> )", log, R"(", depends_on: [c]}
)"));
  ASSERT_TRUE(WaitForJob(run + ".b", "running"));
  framework_->Signal(SIGKILL);
  framework_->Wait(absl::Seconds(5));
  StartFramework();  // same --work_dir
  CliResult w = Cli({"job", "watch", run});
  EXPECT_EQ(w.exit_code, 0) << w.out;
  EXPECT_EQ(Lines("chain"), (std::vector<std::string>{"a", "b", "c", "d"}));
  for (const char* name : {"a", "b", "c", "d"}) {
    EXPECT_EQ(Job(run + "." + name)["attempts"], 1) << name;
  }
}

TEST_F(BatchTest, FinishedRunsAreForgottenAfterTheRetentionAndStayForgotten) {
  framework_flags_ = {"--retention", "2s"};
  Start();
  const std::string done = Submit("name: quick\ncommand: true\n");
  const std::string busy = Submit("name: busy\ncommand: sleep 30\n");
  ASSERT_TRUE(WaitForJob(done + ".quick", "succeeded"));
  ASSERT_TRUE(WaitForJob(busy + ".busy", "running"));
  // Gone within the retention plus a sweep period (retention / 4).
  ASSERT_TRUE(WaitFor([&] { return Cli({"job", "show", done + ".quick"}).exit_code == 1; },
                      absl::Seconds(10)));
  CliResult shown = Cli({"job", "show", done + ".quick"});
  EXPECT_NE(shown.out.find(done + ".quick"), std::string::npos) << shown.out;
  for (const nlohmann::json& job : CliJson({"job", "list"})) EXPECT_NE(job["run_id"], done);
  // A run still going is kept, however old.
  EXPECT_EQ(Job(busy + ".busy")["state"], "running");
  httplib::Client http(Endpoint());
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("agora_batch_runs_removed_total 1\n"), std::string::npos)
      << metrics->body;
  // Forgotten in the store too: a restart does not bring it back.
  framework_->Signal(SIGKILL);
  framework_->Wait(absl::Seconds(5));
  StartFramework();
  EXPECT_EQ(Cli({"job", "show", done + ".quick"}).exit_code, 1);
  EXPECT_EQ(Job(busy + ".busy")["state"], "running");
}

TEST_F(BatchTest, JobOnALostAgentRunsAgainElsewhere) {
  ClusterOptions o;
  o.agents = 2;
  Start(o);
  std::string run = Submit(absl::StrCat("name: survivor\ncommand: echo $AGORA_ATTEMPT >> ", dir(),
                                        "/attempts; sleep 3\n"));
  ASSERT_TRUE(WaitForJob(run + ".survivor", "running"));
  ASSERT_TRUE(WaitFor([&] { return Lines("attempts").size() == 1; }, absl::Seconds(10)));
  std::string agent = Job(run + ".survivor")["agent_id"];
  const std::string host = Job(run + ".survivor")["hostname"];
  int victim = -1;
  for (const json& a : cluster_->Query("agents")) {
    if (a["id"] == agent) victim = a["hostname"] == cluster_->agent_hostname(0) ? 0 : 1;
  }
  ASSERT_GE(victim, 0);
  EXPECT_EQ(host, cluster_->agent_hostname(victim));  // the job's row names its agent's host
  EXPECT_NE(Cli({"job", "show", run + ".survivor"}).out.find(host), std::string::npos);
  cluster_->agent_process(victim).Signal(SIGKILL);
  ASSERT_TRUE(WaitForJob(run + ".survivor", "succeeded", absl::Seconds(40)));
  json job = Job(run + ".survivor");
  EXPECT_EQ(job["attempts"], 2);
  EXPECT_NE(job["agent_id"], agent);
}

TEST_F(BatchTest, LogsAreReadThroughTheAgent) {
  Start();
  std::string run = Submit("name: talker\ncommand: printf 'one\\ntwo\\nthree\\n'; echo oops >&2\n");
  ASSERT_TRUE(WaitForJob(run + ".talker", "succeeded"));
  const std::string id = run + ".talker";
  CliResult out = Cli({"job", "logs", id});
  EXPECT_EQ(out.exit_code, 0) << out.out;
  EXPECT_EQ(out.out, "one\ntwo\nthree\n");
  EXPECT_EQ(Cli({"job", "logs", id, "--stderr"}).out, "oops\n");
  EXPECT_EQ(Cli({"job", "logs", id, "--tail", "2"}).out, "two\nthree\n");
  // The same through the task id, as for any framework's task.
  EXPECT_EQ(Cli({"logs", Job(id)["task_id"], "--tail", "1"}).out, "three\n");
  // A follower prints what a running task writes, and stops when it ends.
  std::string slow = Submit("name: slow-talker\ncommand: for i in 1 2 3; do echo tick $i; sleep 0.3; done\n");
  ASSERT_TRUE(WaitForJob(slow + ".slow-talker", "running"));
  CliResult follow = Cli({"job", "logs", slow + ".slow-talker", "--follow"});
  EXPECT_EQ(follow.exit_code, 0) << follow.out;
  EXPECT_EQ(follow.out, "tick 1\ntick 2\ntick 3\n");
  CliResult unknown = Cli({"logs", "no-such-task"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.out.find("the master knows no task 'no-such-task'"), std::string::npos) << unknown.out;
}

TEST_F(BatchTest, BadInputGetsClearErrors) {
  Start();
  CliResult unknown = Cli({"job", "submit", Write("bad1.yaml", "name: x\ncomand: true\n")});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.out.find("comand: unknown field"), std::string::npos) << unknown.out;
  CliResult cycle = Cli({"job", "submit", Write("bad2.yaml", R"(jobs:
  - {name: a, command: x, depends_on: [b]}
  - {name: b, command: x, depends_on: [a]}
)")});
  EXPECT_EQ(cycle.exit_code, 1);
  EXPECT_NE(cycle.out.find("dependency cycle"), std::string::npos) << cycle.out;
  CliResult huge = Cli({"job", "submit", Write("bad3.yaml", "name: x\ncommand: x\nresources: {cpus: 64}\n")});
  EXPECT_EQ(huge.exit_code, 1);
  EXPECT_NE(huge.out.find("no agent could ever hold it (cpus: asked 64, have 4"), std::string::npos)
      << huge.out;
  CliResult cron = Cli({"job", "submit", Write("bad4.yaml", "name: x\ncommand: x\nschedule: '0 25 * * *'\n")});
  EXPECT_EQ(cron.exit_code, 1);
  EXPECT_NE(cron.out.find("schedule: hour: 25 is outside 0-23"), std::string::npos) << cron.out;
  CliResult missing = Cli({"job", "show", "r-000000000000.nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("no job 'r-000000000000.nope'"), std::string::npos) << missing.out;
  CliResult usage = Cli({"queue", "set-policy", "q", "lifo"});
  EXPECT_EQ(usage.exit_code, 2) << usage.out;
  // Nothing was created by the rejected files.
  EXPECT_TRUE(CliJson({"job", "list"}).empty());
}

}  // namespace
}  // namespace agora::testing
