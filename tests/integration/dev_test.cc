// `agora dev up|status|down` on the real binaries: a cluster comes up ready,
// does work, and goes down leaving no process behind.
#include <signal.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/integration/cluster.h"

namespace agora::testing {
namespace {

using nlohmann::json;

CliResult Agora(const std::string& args) {
  CliResult r;
  FILE* pipe = ::popen(absl::StrCat("timeout 120 ", BinPath("agora"), " ", args, " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = ::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(DevTest, UpRunsWorkAndDownLeavesNothingBehind) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          absl::StrCat("agora-dev-test-", ::getpid());
  const std::string flags = absl::StrCat("--dir ", dir);
  // Whatever happens below, nothing it started outlives the test.
  struct Cleanup {
    std::string flags, dir;
    ~Cleanup() {
      Agora("dev down " + flags);
      std::filesystem::remove_all(dir);
    }
  } cleanup{flags, dir};
  CliResult up = Agora(absl::StrCat("dev up ", flags, " --agents 2 --port ", FreeMasterPort(), " --json"));
  ASSERT_EQ(up.exit_code, 0) << up.out;
  json where = json::parse(up.out, nullptr, false);
  ASSERT_TRUE(where.is_object()) << up.out;
  EXPECT_EQ(where["dir"], dir);
  EXPECT_EQ(where["master"].get<std::string>().rfind("tcp://127.0.0.1:", 0), 0u);
  EXPECT_EQ(where["master_http"].get<std::string>().rfind("http://", 0), 0u);
  const std::string master = absl::StrCat("--master ", where["master"].get<std::string>());

  // Ready means ready: agents active and agora-batch subscribed, right away.
  json agents = json::parse(Agora(absl::StrCat(master, " agents --json")).out, nullptr, false);
  ASSERT_EQ(agents.size(), 2u);
  std::set<std::string> hosts;
  for (const json& a : agents) {
    EXPECT_EQ(a["state"], "active");
    hosts.insert(a["hostname"]);
  }
  EXPECT_EQ(hosts, (std::set<std::string>{"dev-agent-0", "dev-agent-1"}));
  CliResult job = Agora(absl::StrCat(master, " job submit ", AGORA_SOURCE_DIR,
                                     "/examples/batch/etl.yaml --wait"));
  EXPECT_EQ(job.exit_code, 0) << job.out;
  CliResult services = Agora(absl::StrCat(master, " service deploy ", AGORA_SOURCE_DIR,
                                          "/examples/services/web.yaml --wait"));
  EXPECT_EQ(services.exit_code, 0) << services.out;

  // A second `up` on the same folder refuses.
  CliResult again = Agora(absl::StrCat("dev up ", flags));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("already running"), std::string::npos) << again.out;

  CliResult status = Agora(absl::StrCat("dev status ", flags, " --json"));
  ASSERT_EQ(status.exit_code, 0) << status.out;
  json processes = json::parse(status.out, nullptr, false)["processes"];
  ASSERT_EQ(processes.size(), 5u);  // master, 2 agents, agora-batch, agora-services
  for (const json& p : processes) EXPECT_TRUE(p["running"].get<bool>()) << p.dump();

  CliResult down = Agora(absl::StrCat("dev down ", flags));
  EXPECT_EQ(down.exit_code, 0) << down.out;
  for (const json& p : processes) {
    EXPECT_NE(::kill(p["pid"].get<pid_t>(), 0), 0) << p["name"] << " still running";
  }
  EXPECT_EQ(Agora(absl::StrCat("dev status ", flags)).exit_code, 1);
}

}  // namespace
}  // namespace agora::testing
