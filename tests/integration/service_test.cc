// agora-services end to end: the real master, three agents and
// agora-services on loopback, with real services (python3 -m http.server),
// driven through `agora service`.
#include <signal.h>

#include <httplib.h>

#include <atomic>
#include <map>
#include <thread>
#include <set>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/integration/service_fixture.h"

namespace agora::testing {
namespace {

using nlohmann::json;

TEST_F(ServiceTest, DeployReachesHealthyInDependencyOrderAndServesTraffic) {
  Start(WithPorts());
  const std::string d = dir();
  std::string yaml = absl::StrCat(R"(services:
  - name: db
    command: sleep 1; date +%s.%N > )", d, R"(/db-ready; touch ready; exec sleep 3600
    resources: {cpus: 0.1, mem: 32}
    health_check: {type: command, command: "test -f ready", interval: 300ms, timeout: 1s, grace_period: 30s, max_failures: 3}
  - name: web
    command: date +%s.%N >> )", d, R"(/web-started; exec python3 -m http.server $PORT_HTTP --bind 127.0.0.1
    instances: 3
    resources: {cpus: 0.1, mem: 64}
    ports: [http]
    env: {GREETING: hello}
    health_check: {type: http, port: http, path: /, interval: 300ms, timeout: 1s, grace_period: 10s, max_failures: 2}
    constraints: [[hostname, UNIQUE]]
    depends_on: [db]
    upgrade: {min_health_capacity: 0.5, max_over_capacity: 0.5, deadline: 2m, auto_rollback: true}
    load_balancer: {port: )", FreePort(), R"(, policy: roundrobin}
    config: {LOG_LEVEL: info}
    weight: 1
    autoscale: {min: 2, max: 6, target_cpu: 0.6}
)");
  CliResult r = Deploy(yaml);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // web started only after db was ready.
  double db_ready = 0, web_first = 1e18;
  ASSERT_TRUE(absl::SimpleAtod(Lines("db-ready").at(0), &db_ready));
  ASSERT_EQ(Lines("web-started").size(), 3u);
  for (const std::string& l : Lines("web-started")) {
    double t = 0;
    ASSERT_TRUE(absl::SimpleAtod(l, &t));
    web_first = std::min(web_first, t);
  }
  EXPECT_GT(web_first, db_ready);
  // The promised shapes.
  json web = Service("web");
  EXPECT_EQ(web["version"], 1);
  EXPECT_EQ(web["instances"], 3);
  EXPECT_EQ(web["healthy"], 3);
  json show = CliJson({"service", "show", "web"});
  ASSERT_EQ(show["instances"].size(), 3u);
  std::set<std::string> hosts;
  for (const json& i : show["instances"]) {
    for (const char* key : {"task_id", "agent_id", "host", "ports", "healthy", "version", "started_at"}) {
      EXPECT_TRUE(i.contains(key)) << key;
    }
    EXPECT_EQ(i["healthy"], true);
    hosts.insert(i["host"]);
  }
  EXPECT_EQ(hosts.size(), 3u);  // UNIQUE hostname
  json endpoints = CliJson({"service", "endpoints", "web"});
  ASSERT_EQ(endpoints.size(), 3u);
  for (const json& e : endpoints) {
    EXPECT_EQ(e["weight"], 1.0);
    httplib::Client http("127.0.0.1", e["port"].get<int>());  // every agent is this machine
    auto res = http.Get("/");
    ASSERT_TRUE(res) << e.dump();
    EXPECT_EQ(res->status, 200);
  }
}

// Before a deploy: validate offline, plan against what runs, diff line by
// line; none of them changes anything.
TEST_F(ServiceTest, ValidatePlanAndDiffSayWhatADeployWouldDoAndChangeNothing) {
  Start(WithPorts(2));
  ASSERT_EQ(Deploy(Web("web", 1)).exit_code, 0);
  ASSERT_TRUE(WaitForHealthy("web", 1));
  const std::string changed = Write("changed.yaml", Web("web", 2) + "depends_on: [db]\n");
  const std::string with_db = Write("with-db.yaml", absl::StrCat("services:\n  - {name: db, command: sleep 300}\n"
                                                                  "  - name: web\n    command: exec python3 -m http.server $PORT_HTTP --bind 127.0.0.1\n"
                                                                  "    instances: 2\n    resources: {cpus: 0.1, mem: 64}\n    ports: [http]\n"
                                                                  "    depends_on: [db]\n"));
  // Offline: a dependency outside the file is named, not refused.
  CliResult valid = Cli({"service", "validate", changed});
  EXPECT_EQ(valid.exit_code, 0) << valid.out;
  EXPECT_NE(valid.out.find("it depends on db, which must be deployed"), std::string::npos) << valid.out;
  const std::string bad = Write("bad.yaml", "services:\n  - name: web\n    command: x\n    instances: many\n");
  CliResult invalid = Cli({"service", "validate", bad});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_NE(invalid.out.find(bad + ":4:16: services[0].instances: 'many' has the wrong type"), std::string::npos)
      << invalid.out;
  // The same place when agora-services refuses it.
  CliResult refused = Cli({"service", "deploy", bad});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find(bad + ":4:16: services[0].instances"), std::string::npos) << refused.out;

  const nlohmann::json plan = CliJson({"service", "plan", with_db});
  ASSERT_EQ(plan["services"].size(), 2u) << plan.dump();
  EXPECT_EQ(plan["services"][0]["name"], "db");  // deploy order: dependencies first
  EXPECT_EQ(plan["services"][0]["action"], "create");
  EXPECT_EQ(plan["services"][1]["action"], "update");
  EXPECT_EQ(plan["services"][1]["version"], 2);
  EXPECT_EQ(plan["services"][1]["current_instances"], 1);
  EXPECT_EQ(plan["services"][1]["changed"], nlohmann::json({"depends_on", "health_check", "instances"}));
  EXPECT_TRUE(plan["cluster"]["fits"].get<bool>()) << plan.dump();
  const std::string huge = Write("huge.yaml", "name: huge\ncommand: x\nresources: {cpus: 64}\n");
  CliResult too_big = Cli({"service", "plan", huge});
  EXPECT_EQ(too_big.exit_code, 1) << too_big.out;
  EXPECT_NE(too_big.out.find("cluster: does not fit"), std::string::npos) << too_big.out;

  CliResult diff = Cli({"service", "diff", changed});
  EXPECT_EQ(diff.exit_code, 1) << diff.out;
  EXPECT_NE(diff.out.find("--- web (deployed, v1)"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("\n-instances: 1\n"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("\n+instances: 2\n"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("\n name: web\n"), std::string::npos) << diff.out;
  const std::string same = Write("same.yaml", Web("web", 1));
  CliResult no_diff = Cli({"service", "diff", same});
  EXPECT_EQ(no_diff.exit_code, 0) << no_diff.out;
  EXPECT_EQ(no_diff.out, "");
  // Nothing was deployed by any of it.
  EXPECT_EQ(Service("web")["version"], 1);
  EXPECT_TRUE(Service("db").is_null());
}

TEST_F(ServiceTest, AKilledInstanceIsReplaced) {
  Start(WithPorts());
  CliResult r = Deploy(absl::StrCat("name: web\ncommand: readlink /proc/self/ns/pid > ", dir(),
                                    "/$AGORA_TASK_ID.ns; exec python3 -m http.server $PORT_HTTP --bind 127.0.0.1\n"
                                    "instances: 2\nresources: {cpus: 0.1, mem: 64}\nports: [http]\n"
                                    "health_check: {type: http, interval: 300ms, timeout: 1s, grace_period: 20s}\n"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::set<std::string> before = TaskIds("web");
  ASSERT_EQ(before.size(), 2u);
  const std::string victim = *before.begin();
  const std::vector<pid_t> server = PidsInNamespace(Lines(victim + ".ns").at(0), "python3");
  ASSERT_EQ(server.size(), 1u);
  ASSERT_EQ(::kill(server[0], SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !TaskIds("web").contains(victim) && TaskIds("web").size() == 2; },
                      absl::Seconds(20)));
  EXPECT_TRUE(WaitForHealthy("web", 2));
}

TEST_F(ServiceTest, InstancesOfALostAgentRunElsewhere) {
  Start(WithPorts());
  ASSERT_EQ(Deploy(Web("web", 2)).exit_code, 0);
  json show = CliJson({"service", "show", "web"});
  const std::string lost_host = show["instances"][0]["host"];
  int victim = -1;
  for (int i = 0; i < 3; ++i) victim = cluster_->agent_hostname(i) == lost_host ? i : victim;
  ASSERT_GE(victim, 0);
  cluster_->agent_process(victim).Signal(SIGKILL);
  ASSERT_TRUE(WaitFor(
      [&] {
        json s = CliJson({"service", "show", "web"});
        int ready_elsewhere = 0;
        for (const json& i : s["instances"]) ready_elsewhere += i["host"] != lost_host && i["healthy"] == true;
        return ready_elsewhere == 2;
      },
      absl::Seconds(40)));
}

TEST_F(ServiceTest, UniqueHostnameWithMoreInstancesThanHostsSaysWhy) {
  Start(WithPorts());
  CliResult r = Deploy(Web("web", 4, "constraints: [[hostname, UNIQUE]]\n"), /*wait=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(WaitFor([&] { return Service("web")["healthy"] == 3; }, absl::Seconds(30)));
  json web = Service("web");
  EXPECT_EQ(web["state"], "deploying");  // it cannot finish: a host is missing
  EXPECT_NE(web["message"].get<std::string>().find("1 unplaced: [hostname, UNIQUE]"), std::string::npos)
      << web.dump();
}

TEST_F(ServiceTest, ARollingUpdateKeepsMinHealthCapacity) {
  Start(WithPorts());
  const std::string upgrade = "upgrade: {min_health_capacity: 0.5, max_over_capacity: 0.5, deadline: 1m}\n";
  ASSERT_EQ(Deploy(Web("web", 4, upgrade + "env: {COLOUR: blue}\n")).exit_code, 0);
  // Roll to v2 and watch the healthy count all the way.
  std::atomic<bool> done{false};
  std::atomic<int> lowest{100};
  std::thread watcher([&] {
    while (!done) {
      json s = Service("web");
      if (s.is_object()) lowest = std::min(lowest.load(), s["healthy"].get<int>());
    }
  });
  CliResult r = Cli({"service", "update", Write("v2.yaml", Web("web", 4, upgrade + "env: {COLOUR: green}\n")),
                     "--wait"});
  done = true;
  watcher.join();
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_GE(lowest.load(), 2) << "healthy instances fell below min_health_capacity * 4";
  json show = CliJson({"service", "show", "web"});
  EXPECT_EQ(show["version"], 2);
  for (const json& i : show["instances"]) {
    if (i["kill_reason"].is_null()) {
      EXPECT_EQ(i["version"], 2) << i.dump();
    }
  }
  EXPECT_EQ(CliJson({"service", "history", "web"}).size(), 2u);
}

TEST_F(ServiceTest, AFailingDeploymentRollsBack) {
  Start(WithPorts());
  const std::string upgrade = "upgrade: {min_health_capacity: 1, max_over_capacity: 1, deadline: 4s, auto_rollback: true}\n";
  ASSERT_EQ(Deploy(Web("web", 2, upgrade)).exit_code, 0);
  // v2's check probes a path that does not exist: never healthy.
  std::string bad = absl::StrCat(
      "name: web\ncommand: exec python3 -m http.server $PORT_HTTP --bind 127.0.0.1\ninstances: 2\n"
      "resources: {cpus: 0.1, mem: 64}\nports: [http]\n"
      "health_check: {type: http, path: /missing, interval: 300ms, timeout: 1s, grace_period: 0s, max_failures: 1}\n",
      upgrade);
  CliResult r = Cli({"service", "update", Write("bad.yaml", bad), "--wait"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("deployment of v2 failed"), std::string::npos) << r.out;
  // Back on v1, healthy, and it says so.
  ASSERT_TRUE(WaitForHealthy("web", 2));
  json web = Service("web");
  EXPECT_EQ(web["version"], 1);
  EXPECT_NE(web["message"].get<std::string>().find("rolled back to v1"), std::string::npos) << web.dump();
  const json show = CliJson({"service", "show", "web"});
  for (const json& i : show["instances"]) {
    if (i["kill_reason"].is_null()) {
      EXPECT_EQ(i["version"], 1) << i.dump();
    }
  }
}

TEST_F(ServiceTest, AFailedDeploymentTellsTheWaitingCliWhy) {
  Start(WithPorts());
  // Never healthy, and nothing to roll back to.
  const std::string never =
      "name: flaky\ncommand: exec python3 -m http.server $PORT_HTTP --bind 127.0.0.1\ninstances: 1\n"
      "resources: {cpus: 0.1, mem: 64}\nports: [http]\n"
      "health_check: {type: http, path: /missing, interval: 300ms, timeout: 1s, grace_period: 0s, max_failures: 1}\n"
      "upgrade: {deadline: 3s}\n";
  CliResult r = Cli({"service", "deploy", Write("flaky.yaml", never), "--wait"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("agora service: flaky: deployment of v1 failed: 0 of 1 ready after 3s"), std::string::npos)
      << r.out;
  EXPECT_EQ(Service("flaky")["state"], "failed");
}

TEST_F(ServiceTest, RestartRollsEveryInstanceAndRollbackReturns) {
  Start(WithPorts());
  ASSERT_EQ(Deploy(Web("web", 2, "env: {COLOUR: blue}\n")).exit_code, 0);
  std::set<std::string> v1 = TaskIds("web");
  ASSERT_EQ(Cli({"service", "restart", "web"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return Service("web")["version"] == 2 && Service("web")["state"] == "running"; },
                      absl::Seconds(40)));
  for (const std::string& id : TaskIds("web")) EXPECT_FALSE(v1.contains(id)) << id << " was not replaced";
  ASSERT_EQ(Cli({"service", "update", Write("green.yaml", Web("web", 2, "env: {COLOUR: green}\n")), "--wait"}).exit_code, 0);
  ASSERT_EQ(Service("web")["version"], 3);
  CliResult back = Cli({"service", "rollback", "web", "--to", "1"});
  ASSERT_EQ(back.exit_code, 0) << back.out;
  ASSERT_TRUE(WaitFor([&] { return Service("web")["version"] == 1 && Service("web")["state"] == "running"; },
                      absl::Seconds(40)));
  const json show = CliJson({"service", "show", "web"});
  EXPECT_NE(show["spec"].get<std::string>().find("blue"), std::string::npos);
  EXPECT_EQ(CliJson({"service", "history", "web"}).size(), 3u);
  CliResult bad = Cli({"service", "rollback", "web", "--to", "9"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("web has no version 9"), std::string::npos) << bad.out;
}

TEST_F(ServiceTest, RestartMidDeployLosesAndDuplicatesNothing) {
  Start(WithPorts());
  // Slow to become healthy, so the restart lands mid-deployment.
  CliResult r = Deploy("name: slow\ncommand: sleep 2; touch ready; exec sleep 3600\ninstances: 3\n"
                       "health_check: {type: command, command: test -f ready, interval: 300ms, timeout: 1s}\n",
                       /*wait=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(WaitFor([&] { return RunningTasks() == 3; }, absl::Seconds(20)));
  framework_->Signal(SIGKILL);
  framework_->Wait(absl::Seconds(5));
  StartFramework();
  EXPECT_TRUE(WaitForHealthy("slow", 3));
  EXPECT_EQ(RunningTasks(), 3) << cluster_->Query("tasks").dump();
  EXPECT_EQ(TaskIds("slow").size(), 3u);
}

TEST_F(ServiceTest, DeletionStopsDependantsFirst) {
  Start(WithPorts());
  ASSERT_EQ(Deploy(R"(services:
  - {name: db, command: exec sleep 3600}
  - {name: web, command: exec sleep 3600, instances: 2, depends_on: [db]}
)").exit_code, 0);
  CliResult refused = Cli({"service", "delete", "db"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find("web depends on db"), std::string::npos) << refused.out;
  ASSERT_EQ(Cli({"service", "delete", "web", "db"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return CliJson({"service", "list"}).empty(); }, absl::Seconds(20)));
  // The master's record of the kills: every web task ended before db's did.
  std::string web_last, db_first = "~";
  for (const json& t : cluster_->Query("tasks")) {
    const std::string at = t["updated_at"];
    if (t["name"] == "web") web_last = std::max(web_last, at);
    if (t["name"] == "db") db_first = std::min(db_first, at);
  }
  EXPECT_LE(web_last, db_first);
}

TEST_F(ServiceTest, BadSpecsGetClearErrors) {
  Start(WithPorts(1));
  CliResult unknown = Deploy("name: web\ncommand: x\nreplicas: 3\n", false);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.out.find("replicas: unknown field"), std::string::npos) << unknown.out;
  CliResult dep = Deploy("name: web\ncommand: x\ndepends_on: [db]\n", false);
  EXPECT_NE(dep.out.find("unknown service 'db'"), std::string::npos) << dep.out;
  CliResult huge = Deploy("name: web\ncommand: x\nresources: {cpus: 64}\n", false);
  EXPECT_NE(huge.out.find("no agent could ever hold it"), std::string::npos) << huge.out;
  CliResult missing = Cli({"service", "show", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("no service 'nope'"), std::string::npos) << missing.out;
  EXPECT_TRUE(CliJson({"service", "list"}).empty());
}

TEST_F(ServiceTest, DrainingAnAgentMovesItsInstancesReplacementsFirst) {
  Start(WithPorts());
  ASSERT_EQ(Deploy(Web("web", 2, "constraints: [[hostname, UNIQUE]]\n")).exit_code, 0);
  const json before = CliJson({"service", "show", "web"});
  const std::string host = before["instances"][0]["host"];
  const std::string moved = before["instances"][0]["task_id"];
  std::atomic<bool> stop = false;
  std::atomic<int> lowest = 2;
  std::thread watch([&] {
    for (int i = 0; i < 1000 && !stop; ++i) {  // bounded
      json s = Service("web");
      if (s.is_object()) lowest = std::min(lowest.load(), s["healthy"].get<int>());
    }
  });
  CliResult drain = Cli({"agent", "drain", host, "--deadline", "60s", "--wait"});
  stop = true;
  watch.join();
  ASSERT_EQ(drain.exit_code, 0) << drain.out;
  EXPECT_GE(lowest.load(), 2) << "an instance stopped before its replacement was healthy";
  EXPECT_TRUE(WaitForHealthy("web", 2));
  const json after = CliJson({"service", "show", "web"});
  for (const json& i : after["instances"]) {
    EXPECT_NE(i["host"], host) << i.dump();
    EXPECT_NE(i["task_id"], moved);
  }
  EXPECT_EQ(Service("web")["state"], "running");  // a move is not a crash: no backoff
}

}  // namespace
}  // namespace agora::testing
