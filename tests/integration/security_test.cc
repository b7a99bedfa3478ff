// Security on real processes: a master secured with CurveZMQ admits only the
// keys it trusts (refusing the others at the handshake, and counting them),
// lets a framework key subscribe with its roles only, and takes kill, drain
// and teardown from operator keys only; an open master says it is open; and
// tasks run as an unprivileged user, root only where the agent allows it.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
             {"ops", "operators", "operator", "*"},
             {"stranger", "own", "any", "*"}}) {
      CliResult r = Keys({"keys", "generate", name, "--dir", keys_ + "/" + dir, "--kind", kind,
                          "--roles", roles});
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }
    // Secret keys do not belong in the master's trusted directory.
    for (const char* name : {"agent", "batch"}) {
      fs::rename(keys_ + "/trusted/" + name + ".key", keys_ + "/own/" + name + ".key");
    }
  }
  void TearDown() override { fs::remove_all(keys_); }

  CliResult Keys(const std::vector<std::string>& args) {
    std::string command = BinPath("agora");
    for (const std::string& a : args) command += " '" + a + "'";
    CliResult result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = ::fread(buf, 1, sizeof(buf), pipe)) > 0) result.out.append(buf, n);
    int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
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
