// Security on real processes: a master secured with CurveZMQ admits only the
// keys it trusts (refusing the others at the handshake, and counting them),
// lets a framework key subscribe with its roles only, and takes kill, drain
// and teardown from operator keys only; an open master says it is open; and
// tasks run as an unprivileged user, root only where the agent allows it.
// Secured HTTP is TLS only and takes only an operator's token for that daemon.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/curve.h"
#include "common/http_client.h"
#include "frameworks/sdk/master_client.h"
#include "tests/integration/cluster.h"

namespace agora::testing {
namespace {
namespace fs = std::filesystem;

// Keys made with the CLI, as an operator would: the master's, a trusted
// agent's, a framework's limited to role `batch`, an operator's, and one the
// master does not know.
class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "agora-keys-XXXXXX").string();
    keys_ = ::mkdtemp(tmpl.data());
    for (const auto& [name, dir, kind, roles] :
         std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
             {"master", "own", "any", "*"},
             {"agent", "trusted", "agent", "*"},
             {"batch", "trusted", "framework", "batch"},
             {"other", "trusted", "framework", "batch"},
             {"ops", "operators", "operator", "*"},
             {"stranger", "own", "any", "*"}}) {
      CliResult r = Keys({"keys", "generate", name, "--dir", keys_ + "/" + dir, "--kind", kind,
                          "--roles", roles});
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }
    // Secret keys do not belong in the master's trusted directory.
    for (const char* name : {"agent", "batch", "other"}) {
      fs::rename(keys_ + "/trusted/" + name + ".key", keys_ + "/own/" + name + ".key");
    }
  }
  void TearDown() override { fs::remove_all(keys_); }

  CliResult Keys(const std::vector<std::string>& args) {
    std::string command = BinPath("agora");
    for (const std::string& a : args) command += " '" + a + "'";
    return RunShell(command + " 2>&1");
  }
  // Global flags: before the subcommand (after `run ... --` they would be
  // the command's).
  std::vector<std::string> As(const std::string& key) {
    return {"--curve_secret_key", Key(key), "--master_public_key", keys_ + "/own/master.pub"};
  }
  std::string Key(const std::string& name) {
    return keys_ + (name == "ops" ? "/operators/" : "/own/") + name + ".key";
  }
  ClusterOptions Secured() {
    ClusterOptions o;
    o.agents = 1;
    o.master_flags.insert(o.master_flags.end(),
                          {"--curve_secret_key", keys_ + "/own/master.key", "--trusted_keys",
                           keys_ + "/trusted", "--operator_keys", keys_ + "/operators"});
    o.agent_flags = As("agent");
    return o;
  }
  static std::vector<std::string> Cat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  std::string keys_;
};

TEST_F(SecurityTest, OnlyTrustedKeysAreAdmittedAndOnlyOperatorsChangeState) {
  LocalCluster cluster(Secured());
  auto agents = [&](const std::string& key) {
    CliResult r = cluster.Cli(Cat({"agents", "--json"}, As(key)));
    auto parsed = nlohmann::json::parse(r.out, nullptr, false);
    return parsed.is_array() ? parsed : nlohmann::json::array();
  };
  ASSERT_TRUE(WaitFor([&] { return agents("ops").size() == 1; }, absl::Seconds(15)));
  // An agent with a key the master does not trust is refused at the handshake.
  Process stranger(Cat({BinPath("agora-agent"), "--master", cluster.master(), "--work_dir",
                        cluster.dir() + "/stranger", "--hostname", "stranger", "--http_port", "0",
                        "--resources", "cpus:1;mem:512;disk:100"},
                       As("stranger")),
                   cluster.dir() + "/stranger.log");
  nlohmann::json security;
  ASSERT_TRUE(WaitFor(
      [&] {
        CliResult r = cluster.Cli(Cat({"status", "--json"}, As("ops")));
        auto status = nlohmann::json::parse(r.out, nullptr, false);
        if (status.is_discarded()) return false;
        security = status["security"];
        return security.value("handshakes_refused", 0) >= 1;
      },
      absl::Seconds(15)));
  EXPECT_EQ(security["mode"], "curve");
  EXPECT_EQ(agents("ops").size(), 1u);  // the stranger never registered
  std::ifstream log(cluster.dir() + "/stranger.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("refused this process's key"), std::string::npos) << text;

  // The CLI: no keys, a stranger's key, a framework's key, an operator's.
  CliResult plain = cluster.Cli({"agents"});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_NE(plain.out.find("is secured with CurveZMQ"), std::string::npos) << plain.out;
  CliResult refused = cluster.Cli(Cat({"agents"}, As("stranger")));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find("refused this key"), std::string::npos) << refused.out;
  const std::string agent = agents("batch")[0]["hostname"];  // any admitted key may look
  CliResult drain = cluster.Cli(Cat({"agent", "drain", agent}, As("batch")));
  EXPECT_EQ(drain.exit_code, 1);
  EXPECT_NE(drain.out.find("takes an operator key"), std::string::npos) << drain.out;
  CliResult kill = cluster.Cli(Cat({"task", "kill", "nothing"}, As("batch")));
  EXPECT_NE(kill.out.find("takes an operator key"), std::string::npos) << kill.out;
  CliResult operator_drain = cluster.Cli(Cat({"agent", "drain", agent}, As("ops")));
  EXPECT_EQ(operator_drain.exit_code, 0) << operator_drain.out;
  CliResult status = cluster.Cli(Cat({"status", "--json"}, As("ops")));
  EXPECT_GE(nlohmann::json::parse(status.out)["security"]["permission_denied"].get<int>(), 2);
}

TEST_F(SecurityTest, AFrameworkKeySubscribesWithItsRolesOnlyAndRunsTasksEncrypted) {
  LocalCluster cluster(Secured());
  ASSERT_TRUE(WaitFor(
      [&] { return cluster.Cli(Cat({"agents", "--json"}, As("ops"))).out.find("active") != std::string::npos; },
      absl::Seconds(15)));
  CliResult wrong_role = cluster.Cli(Cat(As("batch"), {"run", "--role", "services", "--", "true"}));
  EXPECT_EQ(wrong_role.exit_code, 1);
  EXPECT_NE(wrong_role.out.find("may subscribe with roles batch only, not 'services'"),
            std::string::npos)
      << wrong_role.out;
  CliResult ok = cluster.Cli(Cat(As("batch"), {"run", "--role", "batch", "--", "echo", "over", "curve"}));
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  // An agent key is no framework key.
  CliResult agent_as_framework = cluster.Cli(Cat(As("agent"), {"run", "--", "true"}));
  EXPECT_EQ(agent_as_framework.exit_code, 1);
  EXPECT_NE(agent_as_framework.out.find("may not act as a framework"), std::string::npos)
      << agent_as_framework.out;
}

TEST_F(SecurityTest, HttpIsTlsAndTakesOnlyAnOperatorsTokenForThatDaemon) {
  LocalCluster cluster(Secured());
  ASSERT_TRUE(WaitFor(
      [&] { return cluster.Cli(Cat({"agents", "--json"}, As("ops"))).out.find("active") != std::string::npos; },
      absl::Seconds(15)));
  CliResult run = cluster.Cli(Cat(As("batch"), {"run", "--role", "batch", "--", "echo", "secret-output"}));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  auto tasks = nlohmann::json::parse(cluster.Cli(Cat({"tasks", "--json"}, As("ops"))).out, nullptr, false);
  ASSERT_TRUE(tasks.is_array() && tasks.size() == 1) << tasks;
  const std::string task_id = tasks[0]["id"], framework_id = tasks[0]["framework_id"];

  // The CLI asks the master for the agent's address, certificate and a token.
  CliResult logs = cluster.Cli(Cat({"logs", task_id}, As("ops")));
  EXPECT_EQ(logs.exit_code, 0) << logs.out;
  EXPECT_NE(logs.out.find("secret-output"), std::string::npos) << logs.out;
  CliResult framework_logs = cluster.Cli(Cat({"logs", task_id}, As("batch")));
  EXPECT_EQ(framework_logs.exit_code, 1);
  EXPECT_NE(framework_logs.out.find("may not have HTTP tokens"), std::string::npos) << framework_logs.out;
  sdk::MasterClient framework(cluster.master(), absl::Seconds(5),
                              *LoadCurveClient(Key("batch"), keys_ + "/own/master.pub"));
  EXPECT_EQ(framework.HttpAccessTo("master").status().code(), absl::StatusCode::kPermissionDenied);

  // Plain HTTP is not served at all.
  const std::string url = FirstLine(cluster.dir() + "/agent0/http_endpoint");
  ASSERT_EQ(url.rfind("https://", 0), 0u) << url;
  httplib::Client plain("http://" + url.substr(8));
  plain.set_connection_timeout(5);
  plain.set_read_timeout(5);
  httplib::Result plain_health = plain.Get("/health");
  EXPECT_TRUE(!plain_health || plain_health->status != 200);

  sdk::MasterClient ops(cluster.master(), absl::Seconds(5),
                        *LoadCurveClient(Key("ops"), keys_ + "/own/master.pub"));
  auto agent = ops.HttpAccessTo("agent:agent0");
  auto master = ops.HttpAccessTo("master");
  ASSERT_TRUE(agent.ok()) << agent.status();
  ASSERT_TRUE(master.ok()) << master.status();
  EXPECT_EQ(agent->url, url);
  const std::string files = absl::StrCat("/v1/files?framework=", framework_id, "&task=", task_id,
                                         "&file=stdout&offset=0&length=100");
  auto status_of = [](HttpAccess access, const std::string& path) {
    HttpClient client(std::move(access), absl::Seconds(5));
    httplib::Result r = client->Get(path);
    return r ? r->status : -1;
  };
  // Without a token: /health only.
  HttpAccess anonymous = *agent;
  anonymous.token.clear();
  EXPECT_EQ(status_of(anonymous, "/health"), 200);
  for (const std::string& path : {std::string("/metrics"), std::string("/state"), files}) {
    EXPECT_EQ(status_of(anonymous, path), 401) << path;
  }
  HttpAccess forged = anonymous;
  forged.token = "agora1.b3BzCm9wZXJhdG9yCg.AAAA";
  EXPECT_EQ(status_of(forged, files), 401);
  // The agent's token is worth nothing at the master, and the master's at the agent.
  HttpAccess replayed = *master;
  replayed.token = agent->token;
  EXPECT_EQ(status_of(replayed, "/state"), 401);
  replayed = *agent;
  replayed.token = master->token;
  EXPECT_EQ(status_of(replayed, files), 401);
  // The genuine ones work.
  EXPECT_EQ(status_of(*agent, files), 200);
  EXPECT_EQ(status_of(*master, "/state"), 200);
  // A certificate other than the announced one is refused by the client.
  HttpAccess impostor = *agent;
  impostor.cert_sha256 = master->cert_sha256;
  HttpClient client(impostor, absl::Seconds(5));
  httplib::Result r = client->Get("/health");
  EXPECT_FALSE(r);
  if (!r) {
    EXPECT_EQ(r.error(), httplib::Error::SSLConnection);  // the handshake was refused
  }

  // A framework's API: the same rules, and the CLI follows them itself.
  Process batch(Cat({BinPath("agora-batch"), "--master", cluster.master(), "--work_dir",
                     cluster.dir() + "/batch", "--role", "batch", "--http_port", "0"},
                    As("batch")),
                cluster.dir() + "/batch.log");
  CliResult jobs;
  ASSERT_TRUE(WaitFor([&] { return (jobs = cluster.Cli(Cat({"job", "list"}, As("ops")))).exit_code == 0; },
                      absl::Seconds(15)))
      << jobs.out;
  auto api = ops.HttpAccessTo("framework:agora-batch");
  ASSERT_TRUE(api.ok()) << api.status();
  HttpAccess api_anonymous = *api;
  api_anonymous.token.clear();
  EXPECT_EQ(status_of(api_anonymous, "/v1/jobs"), 401);
  EXPECT_EQ(status_of(*api, "/v1/jobs"), 200);
  HttpAccess agent_token_at_api = *api;
  agent_token_at_api.token = agent->token;
  EXPECT_EQ(status_of(agent_token_at_api, "/v1/jobs"), 401);
  // Another framework key cannot take the name to receive operators' requests.
  Process squatter(Cat({BinPath("agora-batch"), "--master", cluster.master(), "--work_dir",
                        cluster.dir() + "/squatter", "--role", "batch", "--http_port", "0"},
                       As("other")),
                   cluster.dir() + "/squatter.log");
  int squatter_status = 0;
  EXPECT_TRUE(squatter.Wait(absl::Seconds(15), &squatter_status));
  std::ifstream squatter_log(cluster.dir() + "/squatter.log");
  const std::string said((std::istreambuf_iterator<char>(squatter_log)), std::istreambuf_iterator<char>());
  EXPECT_NE(said.find("the name 'agora-batch' belongs to framework"), std::string::npos) << said;
  EXPECT_EQ(ops.HttpAccessTo("framework:agora-batch")->url, api->url);

  CliResult status = cluster.Cli(Cat({"status", "--json"}, As("ops")));
  auto http = nlohmann::json::parse(status.out, nullptr, false)["security"]["http"];
  EXPECT_EQ(http["authenticated"], true) << status.out;
  EXPECT_EQ(http["tls"], true) << status.out;
}

TEST_F(SecurityTest, AnOpenMasterSaysSoInItsStatus) {
  LocalCluster cluster({.agents = 0});
  CliResult r = cluster.Cli({"status"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("OPEN: connections are neither encrypted nor authenticated"), std::string::npos)
      << r.out;
  CliResult j = cluster.Cli({"status", "--json"});
  EXPECT_EQ(nlohmann::json::parse(j.out)["security"]["mode"], "open");
}

TEST(TaskUserTest, EachFrameworksTasksRunUnderAUidOfItsOwnAndRootOnlyWhereTheAgentAllows) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  ClusterOptions o;
  o.agents = 1;
  LocalCluster cluster(o);
  ASSERT_TRUE(cluster.WaitForAgents(1));
  // Two frameworks (each `agora run` is one): two uids from --task_uids.
  std::vector<int> uids;
  for (int i = 0; i < 2; ++i) {
    const std::string out = absl::StrCat(cluster.dir(), "/uid", i);
    CliResult r = cluster.Cli({"run", "--", "sh", "-c", "id -u > " + out + " && touch $AGORA_SANDBOX/mine"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    int uid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(FirstLine(out), &uid)) << FirstLine(out);
    EXPECT_GE(uid, 200000);
    EXPECT_LE(uid, 299999);
    uids.push_back(uid);
  }
  EXPECT_NE(uids[0], uids[1]);
  CliResult root = cluster.Cli({"run", "--user", "root", "--", "true"});
  EXPECT_EQ(root.exit_code, 1);
  EXPECT_NE(root.out.find("asks to run as root"), std::string::npos) << root.out;
  CliResult other = cluster.Cli({"run", "--user", "daemon", "--", "true"});
  EXPECT_NE(other.out.find("under a uid of its own"), std::string::npos) << other.out;
  CliResult bad = cluster.Cli({"run", "--user", "Not A User", "--", "true"});
  EXPECT_NE(bad.out.find("is not a user name"), std::string::npos) << bad.out;

  // An agent with one shared --task_user, that allows root.
  ClusterOptions allowing = o;
  allowing.agent_flags = {"--allow_root_tasks", "--task_user", "nobody"};
  LocalCluster root_cluster(allowing);
  ASSERT_TRUE(root_cluster.WaitForAgents(1));
  const std::string out = root_cluster.dir() + "/whoami";
  CliResult as_nobody = root_cluster.Cli({"run", "--", "sh", "-c", "id -un > " + out});
  ASSERT_EQ(as_nobody.exit_code, 0) << as_nobody.out;
  EXPECT_EQ(FirstLine(out), "nobody");
  CliResult as_daemon = root_cluster.Cli({"run", "--user", "daemon", "--", "true"});
  EXPECT_NE(as_daemon.out.find("runs tasks as 'nobody'"), std::string::npos) << as_daemon.out;
  CliResult as_root = root_cluster.Cli({"run", "--user", "root", "--", "sh", "-c", "id -un > " + out});
  ASSERT_EQ(as_root.exit_code, 0) << as_root.out;
  EXPECT_EQ(FirstLine(out), "root");
}

TEST(TaskUserTest, AnAgentWhoseTasksCouldNotReachTheirSandboxesRefusesToStart) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  const std::string base = std::filesystem::temp_directory_path() / absl::StrCat("agora-closed-", ::getpid());
  std::filesystem::create_directories(base);
  std::filesystem::permissions(base, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  int status = 0;
  {
    Process agent({BinPath("agora-agent"), "--master", "tcp://127.0.0.1:1", "--work_dir", base + "/agent"},
                  base + ".log");
    ASSERT_TRUE(agent.Wait(absl::Seconds(10), &status));
  }
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream log(base + ".log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("tasks run as each framework's own uid, who cannot pass through " + base +
                      " (mode 0700)"),
            std::string::npos)
      << text;
  std::filesystem::remove_all(base);
  std::filesystem::remove(base + ".log");
}

}  // namespace
}  // namespace agora::testing
