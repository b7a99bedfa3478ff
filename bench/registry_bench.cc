// The master's registry on SQLite and on ZooKeeper, side by side, holding
// --agents agents: the latency of a group commit of 1, 100 and 1,000 agent
// writes (median of several), the records per second that gives, and how
// long a new leader takes to read the whole registry back, and (SQLite) the
// file's size. One JSON line per store; bench/registry adds ZooKeeper's
// data size.
//
//   registry_bench --zk HOST:PORT[,...] [--agents 100000] [--dir /var/tmp]
//
// bench/registry starts a three-server ZooKeeper ensemble and runs it.
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/cli.h"
#include "master/registry.h"

namespace {

using agora::master::Registry;
using agora::master::RegistryAgent;

RegistryAgent Agent(int i, int round) {
  return {absl::StrCat("a-", i), absl::StrCat("host-", i, ".rack", i % 40, ".example.com"),
          round % 2 ? RegistryAgent::State::kDraining : RegistryAgent::State::kAdmitted,
          absl::FromUnixSeconds(1'800'000'000 + round), "agent-key"};
}

// Fills the registry with `agents` agents, then times group commits of 1,
// 100 and 1,000 of them changing (so each writes into a full registry).
nlohmann::json Measure(Registry& registry, int agents) {
  nlohmann::json out;
  int round = 0;
  for (int i = 0; i < agents; i += 1000) {
    for (int j = i; j < std::min(agents, i + 1000); ++j) registry.PutAgent(Agent(j, round));
    if (!registry.Commit().ok()) std::exit(1);
  }
  for (int batch : {1, 100, 1000}) {
    std::vector<double> ms;
    for (int run = 0; run < 15; ++run) {
      ++round;
      for (int i = 0; i < batch; ++i) registry.PutAgent(Agent((i * 7919 + run) % agents, round));
      const absl::Time start = absl::Now();
      if (absl::Status s = registry.Commit(); !s.ok()) {
        std::cerr << s.message() << "\n";
        std::exit(1);
      }
      ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    }
    std::sort(ms.begin(), ms.end());
    out[absl::StrCat("commit_", batch, "_ms")] = std::round(ms[ms.size() / 2] * 100) / 100;
    if (batch == 1000) out["records_per_second"] = std::lround(1000 / (ms[ms.size() / 2] / 1000));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"registry_bench: the registry's commit latency and recovery, SQLite beside ZooKeeper"};
  std::string servers, dir = "/var/tmp";
  int agents = 100'000;
  app.add_option("--zk", servers, "a ZooKeeper ensemble, HOST:PORT[,...]")->required();
  app.add_option("--agents", agents, "registry size for the recovery figures");
  app.add_option("--dir", dir, "where the SQLite file goes");
  CLI11_PARSE(app, argc, argv);

  const std::string path = absl::StrCat(dir, "/registry-bench-", ::getpid(), ".sqlite");
  {
    auto sqlite = agora::master::OpenSqliteRegistry(path);
    if (!sqlite.ok()) return 1;
    nlohmann::json out = Measure(**sqlite, agents);
    const absl::Time start = absl::Now();
    auto state = agora::master::OpenSqliteRegistry(path).value()->Recover();
    out["store"] = "sqlite";
    out["agents"] = state->agents.size();
    out["recover_ms"] = std::lround(absl::ToDoubleMilliseconds(absl::Now() - start));
    out["bytes"] = std::filesystem::file_size(path);
    std::cout << out.dump() << std::endl;
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");

  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t* zh = zookeeper_init(servers.c_str(), nullptr, 10000, nullptr, nullptr, 0);
  for (int i = 0; i < 200 && zoo_state(zh) != ZOO_CONNECTED_STATE; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string root = absl::StrCat("/registry-bench-", ::getpid());
  const std::string fence = root + "/leader";
  if (zoo_create(zh, root.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0) != ZOK ||
      zoo_create(zh, fence.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, nullptr, 0) != ZOK) {
    std::cerr << "cannot reach ZooKeeper at " << servers << "\n";
    return 1;
  }
  auto zk = agora::master::OpenZkRegistry(zh, root + "/registry", fence);
  if (!zk.ok()) return 1;
  nlohmann::json out = Measure(**zk, agents);
  const absl::Time start = absl::Now();
  auto state = agora::master::OpenZkRegistry(zh, root + "/registry", fence).value()->Recover();
  out["store"] = "zookeeper";
  out["agents"] = state->agents.size();
  out["recover_ms"] = std::lround(absl::ToDoubleMilliseconds(absl::Now() - start));
  std::cout << out.dump() << std::endl;
  zookeeper_close(zh);
  return 0;
}
