// agora-services' load balancers, client library and config centre end to end: real HAProxy
// in front of real HTTP servers, traffic through it while instances turn
// unhealthy, roll to a new config, and agora-services itself is killed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "frameworks/service/client/service_resolver.h"
#include "tests/integration/service_fixture.h"

namespace agora::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Answers "TASK_ID COLOR" (COLOR from its config); 500 while ./sick exists.
constexpr char kEchoServer[] = R"(import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        sick = os.path.exists('sick')
        body = (os.environ['AGORA_TASK_ID'] + ' ' + os.environ.get('COLOR', '')).encode()
        self.send_response(500 if sick else 200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT_HTTP'])), H).serve_forever()
)";

class LoadBalancerTest : public ServiceTest {
 protected:
  // Deploys `instances` echo servers behind HAProxy on a free port: one the
  // spec names, or (`choose_port`) one agora-services chooses.
  void DeployEcho(int instances, const std::string& policy = "roundrobin", bool choose_port = false) {
    lb_port_ = choose_port ? 0 : FreePort();
    const std::string server = Write("echo.py", kEchoServer);
    ASSERT_EQ(Deploy(absl::StrCat("name: echo\ncommand: exec python3 ", server, "\ninstances: ", instances,
                                  "\nresources: {cpus: 0.1, mem: 64}\nports: [http]\n",
                                  "health_check: {type: http, port: http, path: /, interval: 300ms, timeout: 1s, ",
                                  "grace_period: 20s, max_failures: 2}\n",
                                  "load_balancer: {", choose_port ? "" : absl::StrCat("port: ", lb_port_, ", "),
                                  "policy: ", policy, "}\n",
                                  "config: {COLOR: blue}\n"))
                  .exit_code,
              0);
    if (choose_port) {
      const json lb = CliJson({"service", "show", "echo"})["load_balancer"];
      ASSERT_TRUE(lb.is_object() && lb["chosen"].get<bool>()) << lb.dump();
      lb_port_ = lb["port"];
    }
    // HAProxy follows within its sync period, and serves the new
    // configuration once its reload is through.
    ASSERT_TRUE(WaitFor([&] { return Servers().size() == static_cast<size_t>(instances); }, absl::Seconds(10)));
    ASSERT_TRUE(WaitFor(
        [&] {
          std::set<std::string> seen;
          for (int i = 0; i < 3 * instances; ++i) {
            auto [status, body] = Get();
            if (status != 200) return false;
            seen.insert(body.substr(0, body.find(' ')));
          }
          return seen.size() == static_cast<size_t>(instances);
        },
        absl::Seconds(10)));
  }

  // One request through HAProxy: {status, body}; status 0 if it failed.
  std::pair<int, std::string> Get() {
    httplib::Client http("127.0.0.1", lb_port_);
    http.set_connection_timeout(2);
    http.set_read_timeout(2);
    auto res = http.Get("/");
    if (!res) return {0, httplib::to_string(res.error())};
    return {res->status, res->body};
  }

  // The task ids in HAProxy's configuration now.
  std::set<std::string> Servers() {
    std::ifstream in(dir() + "/agora-services/haproxy/haproxy.cfg");
    std::set<std::string> ids;
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (words.size() > 1 && words[0] == "server") ids.insert(words[1]);
    }
    return ids;
  }

  // The sandbox of `task_id`'s current run, under its agent's work dir.
  std::string Sandbox(const std::string& task_id) {
    for (const auto& entry : fs::recursive_directory_iterator(dir())) {
      if (entry.is_directory() && entry.path().filename() == task_id) return entry.path().string();
    }
    return "";
  }

  json FrameworkState() {
    httplib::Client http(Endpoint());
    auto res = http.Get("/state");
    EXPECT_TRUE(res) << Endpoint() << ": " << httplib::to_string(res.error());
    return res ? json::parse(res->body, nullptr, false) : json();
  }

  int HaproxyPid() {
    std::ifstream in(dir() + "/agora-services/haproxy/haproxy.pid");
    int pid = 0;
    in >> pid;
    return pid;
  }

  int lb_port_ = 0;
};

TEST_F(LoadBalancerTest, RoundRobinSpreadsTrafficAndAnUnhealthyInstanceLeavesTheRotation) {
  Start(WithPorts());
  DeployEcho(3);
  std::map<std::string, int> per_task;
  for (int i = 0; i < 30; ++i) {
    auto [status, body] = Get();
    ASSERT_EQ(status, 200) << body;
    per_task[body.substr(0, body.find(' '))]++;
  }
  ASSERT_EQ(per_task.size(), 3u);
  for (const auto& [task, n] : per_task) EXPECT_EQ(n, 10) << task;

  // One instance starts failing its check (2 failures at 300ms make it unhealthy).
  const std::string sick = per_task.begin()->first;
  const std::string sandbox = Sandbox(sick);
  ASSERT_FALSE(sandbox.empty());
  std::ofstream(sandbox + "/sick") << "";
  const absl::Time marked = absl::Now();
  ASSERT_TRUE(WaitFor([&] { return !Servers().contains(sick); }, absl::Seconds(10)));
  const absl::Duration out_after = absl::Now() - marked;
  // Two check intervals to be declared unhealthy, then at most one more
  // interval (the sync period) to leave HAProxy.
  EXPECT_LT(out_after, absl::Milliseconds(600 + 300 + 700)) << out_after;
  for (int i = 0; i < 20; ++i) {
    auto [status, body] = Get();
    EXPECT_EQ(status, 200) << body;
    EXPECT_EQ(body.find(sick), std::string::npos) << body;
  }
  // It is replaced, and the replacement joins the rotation.
  EXPECT_TRUE(WaitFor([&] { return Servers().size() == 3 && !Servers().contains(sick); }, absl::Seconds(20)));
  const json state = FrameworkState();
  EXPECT_EQ(state["load_balancer"]["errors"], 0) << state.dump();
}

TEST_F(LoadBalancerTest, LeastConnSendsNewConnectionsToTheIdlestInstance) {
  Start(WithPorts());
  DeployEcho(3, "leastconn");
  // Two connections held open (TCP mode: HAProxy connects each to a server at
  // once) occupy two instances; every new request then goes to the third.
  std::vector<int> held;
  for (int i = 0; i < 2; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(lb_port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    held.push_back(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // HAProxy picks its server
  }
  std::set<std::string> answered_by;
  for (int i = 0; i < 6; ++i) {
    auto [status, body] = Get();
    ASSERT_EQ(status, 200) << body;
    answered_by.insert(body.substr(0, body.find(' ')));
    // HAProxy counts a closed connection off a moment later: let it.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(answered_by.size(), 1u);  // the idle one, every time
  for (int fd : held) ::close(fd);
}

TEST_F(LoadBalancerTest, AConfigChangeRollsTheInstancesWithoutDroppingARequest) {
  Start(WithPorts());
  DeployEcho(3, "roundrobin", /*choose_port=*/true);  // and the new version keeps the port
  std::atomic<bool> stop = false;
  std::atomic<int> ok = 0, failed = 0, green = 0;
  std::thread traffic([&] {
    for (int i = 0; i < 5000 && !stop; ++i) {  // bounded
      auto [status, body] = Get();
      (status == 200 ? ok : failed)++;
      green += body.ends_with(" green");
    }
  });
  CliResult set = Cli({"config", "set", "echo", "COLOR=green", "--wait"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  traffic.join();
  ASSERT_EQ(set.exit_code, 0) << set.out;
  EXPECT_EQ(failed, 0) << ok << " answered";
  EXPECT_GT(ok, 20);
  EXPECT_GT(green, 0);
  // Every instance is of the new version (the old ones go after their drain),
  // with the value in its env and its sandbox file.
  json show;
  EXPECT_TRUE(WaitFor(
      [&] {
        show = CliJson({"service", "show", "echo"});
        return show["instances"].size() == 3;
      },
      absl::Seconds(10)));
  EXPECT_EQ(show["version"], 2);
  EXPECT_EQ(show["load_balancer"]["port"], lb_port_);
  for (const json& i : show["instances"]) {
    EXPECT_EQ(i["version"], 2);
    std::ifstream in(Sandbox(i["task_id"]) + "/config.json");
    EXPECT_EQ(json::parse(in, nullptr, false), json({{"COLOR", "green"}})) << i["task_id"];
  }
  EXPECT_EQ(CliJson({"config", "get", "echo"})["config"], json({{"COLOR", "green"}}));
  EXPECT_EQ(CliJson({"config", "get", "echo", "--version", "1"})["config"], json({{"COLOR", "blue"}}));
  const json history = CliJson({"config", "history", "echo"});
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1]["changed"], json({"COLOR"}));
  // Unchanged config: no new version.
  EXPECT_EQ(CliJson({"config", "set", "echo", "COLOR=green"})["version"], 2);
  // Bad input.
  CliResult bad_key = Cli({"config", "set", "echo", "BAD-KEY=1"});
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_NE(bad_key.out.find("config key 'BAD-KEY' must be a name"), std::string::npos) << bad_key.out;
  CliResult not_pair = Cli({"config", "set", "echo", "COLOR"});
  EXPECT_EQ(not_pair.exit_code, 2);
  EXPECT_NE(not_pair.out.find("'COLOR' is not KEY=VALUE"), std::string::npos) << not_pair.out;
  CliResult missing = Cli({"config", "unset", "echo", "NOPE"});
  EXPECT_NE(missing.out.find("echo has no config key 'NOPE'"), std::string::npos) << missing.out;
}

TEST_F(LoadBalancerTest, HaproxyKeepsServingWhileAgoraServicesIsDownAndIsAdoptedAfter) {
  Start(WithPorts());
  DeployEcho(2, "roundrobin", /*choose_port=*/true);
  const int pid = HaproxyPid();
  ASSERT_GT(pid, 0);
  framework_->Signal(SIGKILL);
  framework_->Wait(absl::Seconds(5));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Get().first, 200);
  StartFramework();
  const json state = FrameworkState();
  EXPECT_EQ(state["load_balancer"]["pid"], pid) << state.dump();
  EXPECT_EQ(state["load_balancer"]["starts"], 0);  // adopted, not restarted
  EXPECT_EQ(CliJson({"service", "show", "echo"})["load_balancer"]["port"], lb_port_);  // the chosen port is kept
  // It still follows changes.
  ASSERT_EQ(Cli({"service", "scale", "echo", "3"}).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return Servers().size() == 3; }, absl::Seconds(20)));
  EXPECT_EQ(HaproxyPid(), pid);
  // A second service may not take the same port.
  CliResult clash = Deploy(absl::StrCat("name: other\ncommand: sleep 100\nports: [http]\n",
                                        "load_balancer: {port: ", lb_port_, "}\n"),
                           false);
  EXPECT_EQ(clash.exit_code, 1);
  EXPECT_NE(clash.out.find("is already the load balancer of echo"), std::string::npos) << clash.out;
  // One that names none gets another.
  ASSERT_EQ(Deploy("name: other\ncommand: sleep 100\nports: [http]\nload_balancer: {}\n", false).exit_code, 0);
  const json other = CliJson({"service", "show", "other"})["load_balancer"];
  EXPECT_NE(other["port"], lb_port_) << other.dump();
  EXPECT_NE(other["port"], 0) << other.dump();
}

TEST_F(LoadBalancerTest, TheClientLibraryPicksHealthyEndpointsAndFollowsChanges) {
  using service::client::Policy;
  using service::client::ServiceResolver;
  Start(WithPorts());
  DeployEcho(3);
  auto api = service::client::ServicesApiFromMaster(cluster_->master());
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_EQ(*api, Endpoint());
  auto unknown = ServiceResolver::Create("nope", {.api_url = *api});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("no service 'nope'"), std::string::npos) << unknown.status();

  auto echo = ServiceResolver::Create(
      "echo", {.api_url = *api, .policy = Policy::kLeastOutstanding, .refresh = absl::Milliseconds(200)});
  ASSERT_TRUE(echo.ok()) << echo.status();
  ServiceResolver& resolver = **echo;
  std::map<std::string, int> answered_by;
  for (int i = 0; i < 9; ++i) {
    auto lease = resolver.Pick();
    ASSERT_TRUE(lease);
    httplib::Client http(lease->address, static_cast<int>(lease->port));
    auto res = http.Get("/");
    ASSERT_TRUE(res) << lease->address << ":" << lease->port;
    EXPECT_EQ(res->body.substr(0, res->body.find(' ')), lease->task_id);  // the endpoint is that instance
    answered_by[lease->task_id]++;
  }
  EXPECT_EQ(answered_by.size(), 3u);  // released leases: ties go in turn

  // Scaled down: the resolver follows within its refresh period.
  ASSERT_EQ(Cli({"service", "scale", "echo", "2"}).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return resolver.Endpoints().size() == 2; }, absl::Seconds(10)));
  EXPECT_GE(resolver.changes(), 1u);
  // agora-services gone: the last endpoints stay usable, and the error says why.
  framework_->Signal(SIGKILL);
  framework_->Wait(absl::Seconds(5));
  EXPECT_TRUE(WaitFor([&] { return !resolver.last_error().ok(); }, absl::Seconds(5)));
  EXPECT_EQ(resolver.last_error().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(resolver.Endpoints().size(), 2u);
  EXPECT_TRUE(resolver.Pick());
}

}  // namespace
}  // namespace agora::testing
