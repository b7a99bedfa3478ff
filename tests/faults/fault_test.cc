// The fault-injection suite: a workload of several hundred tasks across
// agora-batch, agora-services and a framework of the test's own, while a
// driver SIGKILLs and restarts the master, agents, executors and frameworks
// at random moments (seeded: AGORA_FAULT_SEED, printed) and cuts an agent off
// in a network namespace. It runs twice: with one master (registry in
// SQLite), and with three masters electing a leader through a three-server
// ZooKeeper ensemble, where the driver kills the leading master and
// ZooKeeper servers too (and, as a supervisor would, restarts a master that
// exited on losing ZooKeeper). Then it checks what the issue promises:
//
//  - every task the test's framework launched reached exactly one terminal
//    state there (none stuck, none with two different ends);
//  - no batch job ran twice except where a retry was due (its tasks write
//    JOB ATTEMPT to a ledger: an attempt may appear once);
//  - every batch job ended, and succeeded;
//  - every service is back to its desired healthy count;
//  - no process is left behind once everything is stopped.
//
// and prints one JSON line of counts. CI runs it for AGORA_FAULT_SECONDS=40;
// by hand: AGORA_FAULT_SECONDS=600 AGORA_FAULT_SEED=7 ctest -L faults -V.
#include <signal.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agora/sdk/scheduler_driver.h"
#include "tests/integration/cluster.h"
#include "tests/integration/netns.h"
#include "tests/integration/zk_ensemble.h"
#include "common/proc_file.h"

namespace agora::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

// What the test's framework saw, kept outside its incarnations: a crash of
// the framework loses none of it (as a framework's own store would).
struct Ledger {
  std::mutex mu;
  std::string framework_id;
  std::deque<TaskSpec> to_launch;
  std::map<std::string, std::vector<TaskState>> updates;  // every task launched
  std::map<std::string, absl::Time> launched_at;
};

// Launches what the ledger queues, records every update, and reconciles the
// tasks it has not heard the end of (the master calls a launch it never
// received lost, once its agents had time to re-register).
class LedgerScheduler final : public sdk::Scheduler {
 public:
  explicit LedgerScheduler(Ledger& ledger) : ledger_(ledger) {}

  void Subscribed(sdk::SchedulerDriver& driver, const std::string& id) override {
    std::lock_guard<std::mutex> lock(ledger_.mu);
    ledger_.framework_id = id;
    if (timer_ == 0) timer_ = driver.Every(absl::Seconds(3), [&driver, this] { Reconcile(driver); });
  }
  void Offers(sdk::SchedulerDriver& driver, const std::vector<sdk::Offer>& offers) override {
    std::lock_guard<std::mutex> lock(ledger_.mu);
    for (const sdk::Offer& offer : offers) {
      Resources left = offer.resources;
      std::vector<TaskSpec> batch;
      while (!ledger_.to_launch.empty() && left.Contains(ledger_.to_launch.front().resources)) {
        left -= ledger_.to_launch.front().resources;
        batch.push_back(ledger_.to_launch.front());
        ledger_.updates[batch.back().task_id];  // launched: it must end
        ledger_.launched_at[batch.back().task_id] = absl::Now();
        ledger_.to_launch.pop_front();
      }
      if (!batch.empty()) driver.Launch({offer.id}, batch);
    }
  }
  void Update(sdk::SchedulerDriver&, const TaskStatus& status) override {
    std::lock_guard<std::mutex> lock(ledger_.mu);
    auto it = ledger_.updates.find(status.task_id);
    if (it != ledger_.updates.end()) it->second.push_back(status.state);
  }
  bool WantsOffers() const override {
    std::lock_guard<std::mutex> lock(ledger_.mu);
    return !ledger_.to_launch.empty();
  }

 private:
  void Reconcile(sdk::SchedulerDriver& driver) {
    std::vector<std::string> open;
    {
      std::lock_guard<std::mutex> lock(ledger_.mu);
      for (const auto& [id, states] : ledger_.updates) {
        const bool ended = std::any_of(states.begin(), states.end(), [](TaskState s) { return IsTerminal(s); });
        if (!ended && absl::Now() - ledger_.launched_at[id] > absl::Seconds(5)) open.push_back(id);
      }
    }
    if (!open.empty()) driver.Reconcile(open);
  }

  Ledger& ledger_;
  sdk::SchedulerDriver::TimerId timer_ = 0;
};

// The test's framework: one incarnation at a time, each resuming the last
// one's framework id.
class LedgerFramework {
 public:
  LedgerFramework(std::string master, Ledger& ledger) : master_(std::move(master)), ledger_(ledger) { Start(); }
  ~LedgerFramework() { Stop(/*failover=*/false); }
  void Start() {
    sdk::FrameworkInfo info;
    info.name = "fault-ledger";
    info.failover_timeout = absl::Minutes(10);
    {
      std::lock_guard<std::mutex> lock(ledger_.mu);
      info.framework_id = ledger_.framework_id;
    }
    scheduler_ = std::make_unique<LedgerScheduler>(ledger_);
    driver_ = std::make_unique<sdk::SchedulerDriver>(*scheduler_, info, master_);
    thread_ = std::thread([d = driver_.get()] { d->Run(); });
  }
  // failover: as a SIGKILL would leave it (its tasks stay for it).
  void Stop(bool failover) {
    if (driver_ == nullptr) return;
    driver_->Stop(failover);
    thread_.join();
    driver_.reset();
    scheduler_.reset();
  }
  void Revive() {
    if (driver_ != nullptr) driver_->Post([d = driver_.get()] { d->Revive(); });
  }

 private:
  std::string master_;
  Ledger& ledger_;
  std::unique_ptr<LedgerScheduler> scheduler_;
  std::unique_ptr<sdk::SchedulerDriver> driver_;
  std::thread thread_;
};

// A framework daemon the driver may kill and restart on its work dir.
class Daemon {
 public:
  Daemon(LocalCluster& cluster, std::string binary, std::vector<std::string> flags)
      : cluster_(cluster), binary_(std::move(binary)), flags_(std::move(flags)) {}
  void Start() {
    std::vector<std::string> argv = {BinPath(binary_), "--master", cluster_.master(), "--work_dir",
                                     cluster_.dir() + "/" + binary_, "--http_port", "0"};
    argv.insert(argv.end(), flags_.begin(), flags_.end());
    process_ = std::make_unique<Process>(argv, cluster_.dir() + "/" + binary_ + ".log");
  }
  void Kill() {
    process_->Signal(SIGKILL);
    process_->Wait(absl::Seconds(5));
    process_.reset();
  }
  void Stop() { process_.reset(); }

 private:
  LocalCluster& cluster_;
  std::string binary_;
  std::vector<std::string> flags_;
  std::unique_ptr<Process> process_;
};

std::vector<pid_t> ProcessesMentioning(const std::string& text) {
  std::vector<pid_t> found;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0])) || std::stoi(name) == ::getpid()) continue;
    for (const char* file : {"cmdline", "environ"}) {
      const std::string s = ReadProcFile((e.path() / file).string());
      if (s.find(text) != std::string::npos) {
        found.push_back(std::stoi(name));
        break;
      }
    }
  }
  return found;
}

constexpr int kHostAgents = 3;
constexpr int kHaMasters = 3;

// Runs the workload under faults and checks it; `ha`: three masters and a
// ZooKeeper ensemble instead of one master.
void RunWorkloadUnderFaults(bool ha) {
  const int seconds = EnvInt("AGORA_FAULT_SECONDS", 40);
  const unsigned seed = static_cast<unsigned>(EnvInt("AGORA_FAULT_SEED", 42));
  std::mt19937 rng(seed);
  std::cout << "fault suite: seed " << seed << ", " << seconds << "s of faults"
            << (ha ? ", three masters" : "") << std::endl;

  std::unique_ptr<NetnsHost> island;
  if (NetnsHost::Available()) island = std::make_unique<NetnsHost>();
  const bool with_island = island != nullptr && island->ok();
  ClusterOptions options;
  options.agents = kHostAgents;
  options.agent_resources = "cpus:4;mem:4096;disk:1000";
  options.master_flags.insert(options.master_flags.end(), {"--agent_reregister_timeout", "3s"});
  if (with_island) options.master_host = island->host_ip();
  std::unique_ptr<ZkEnsemble> zk;
  if (ha) {
    zk = std::make_unique<ZkEnsemble>(3, options.master_host);  // the island's agent reaches it too
    ASSERT_TRUE(zk->WaitServing());
    options.zk = zk->url("/faults");
    options.masters = kHaMasters;
    options.master_flags.insert(options.master_flags.end(), {"--zk_session_timeout", "2s"});
  }
  LocalCluster cluster(options);
  // As systemd would: a master that exited (on losing ZooKeeper) is started
  // again as a candidate.
  int masters_restarted = 0;
  auto supervise = [&] {
    for (int i = 0; i < options.masters; ++i) {
      if (cluster.master_process(i).Wait(absl::ZeroDuration())) {
        ++masters_restarted;
        cluster.StartMaster(i);
      }
    }
  };
  const std::string dir = cluster.dir();
  std::unique_ptr<Process> island_agent;
  auto start_island = [&] {
    island_agent = std::make_unique<Process>(
        island->Command({BinPath("agora-agent"), "--master", cluster.master(), "--work_dir", dir + "/island",
                         "--hostname", "island", "--resources", "cpus:4;mem:4096;disk:1000",
                         "--kill_tasks_on_exit", "--http_port", "0", "--recovery_timeout", "60s"}),
        dir + "/island.log");
  };
  if (with_island) start_island();
  ASSERT_TRUE(cluster.WaitForAgents(kHostAgents + (with_island ? 1 : 0), absl::Seconds(20)));

  Daemon batch(cluster, "agora-batch", {});
  Daemon services(cluster, "agora-services", {"--haproxy", "none"});
  batch.Start();
  services.Start();
  Ledger ledger;
  auto ledger_framework = std::make_unique<LedgerFramework>(cluster.master(), ledger);
  auto cli = [&](std::vector<std::string> args) { return cluster.Cli(args, absl::Seconds(30)); };
  auto cli_json = [&](std::vector<std::string> args) {
    supervise();  // while the test waits, too
    args.push_back("--json");
    CliResult r = cli(args);
    json j = json::parse(r.out, nullptr, false);
    return r.exit_code == 0 && !j.is_discarded() ? j : json();
  };
  ASSERT_TRUE(WaitFor([&] { return cli_json({"service", "list"}).is_array() && cli_json({"job", "list"}).is_array(); },
                      absl::Seconds(20)));

  // The workload, spread over the faults. Batch: a run of an array and a
  // diamond every round, every task writing its job and attempt to the
  // ledger; services: two of them, deployed once; the test's framework: ten
  // short tasks every round.
  const std::string ledger_file = dir + "/batch-ledger";
  const std::string record = absl::StrCat("echo \"$AGORA_JOB_ID $AGORA_ATTEMPT\" >> ", ledger_file, "; ");
  std::ofstream(dir + "/work.yaml")
      << "jobs:\n"
      << "  - {name: wide, array: 20, retries: 8, backoff: 1s, resources: {cpus: 0.1, mem: 16}, command: '"
      << record << "sleep 2'}\n"
      << "  - {name: a, retries: 8, backoff: 1s, resources: {cpus: 0.1, mem: 16}, command: '" << record << "sleep 2'}\n"
      << "  - {name: b, depends_on: [a], retries: 8, backoff: 1s, resources: {cpus: 0.1, mem: 16}, command: '"
      << record << "sleep 2'}\n"
      << "  - {name: c, depends_on: [a], retries: 8, backoff: 1s, resources: {cpus: 0.1, mem: 16}, command: '"
      << record << "sleep 2'}\n"
      << "  - {name: d, depends_on: [b, c], retries: 8, backoff: 1s, resources: {cpus: 0.1, mem: 16}, command: '"
      << record << "sleep 1'}\n";
  std::ofstream(dir + "/services.yaml")
      << "services:\n"
      << "  - {name: store, command: 'exec sleep 3600', instances: 2, resources: {cpus: 0.1, mem: 16},\n"
      << "     health_check: {type: command, command: 'true', interval: 1s, timeout: 1s, grace_period: 10s, max_failures: 3}}\n"
      << "  - {name: front, command: 'exec sleep 3600', instances: 3, depends_on: [store], resources: {cpus: 0.1, mem: 16},\n"
      << "     health_check: {type: command, command: 'true', interval: 1s, timeout: 1s, grace_period: 10s, max_failures: 3}}\n";
  fs::permissions(dir, fs::perms::all | fs::perms::sticky_bit);
  CliResult deployed = cli({"service", "deploy", dir + "/services.yaml"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.out;
  int queued_tasks = 0;
  auto queue_ledger_tasks = [&](int n) {
    std::lock_guard<std::mutex> lock(ledger.mu);
    for (int i = 0; i < n; ++i, ++queued_tasks) {
      TaskSpec t;
      t.task_id = absl::StrCat("ledger-", queued_tasks);
      t.name = t.task_id;
      t.command = "sleep 1";
      t.resources = Resources::Scalars(0.1, 16, 0);
      ledger.to_launch.push_back(std::move(t));
    }
  };

  // The faults.
  std::map<std::string, int> faults;
  auto pause = [&](int lo_ms, int hi_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(lo_ms, hi_ms)(rng)));
  };
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  int rounds = 0, submit_failures = 0;
  while (absl::Now() < end) {
    ++rounds;
    supervise();
    queue_ledger_tasks(10);
    ledger_framework->Revive();
    // agora-batch may be down this very moment: a refused submission is the
    // user's to repeat, and is counted.
    if (cli({"job", "submit", dir + "/work.yaml"}).exit_code != 0) ++submit_failures;
    pause(1500, 4000);
    // With three masters every other fault is the leader's death or a
    // ZooKeeper server's, in turn.
    const int kind = ha && rounds % 2 == 1 ? (rounds % 4 == 1 ? 0 : 7)
                                           : std::uniform_int_distribution<int>(0, with_island ? 6 : 5)(rng);
    switch (kind) {
      case 0: {
        const int leader = ha ? cluster.LeaderIndex(absl::Seconds(10)) : 0;
        if (leader < 0) break;
        ++faults[ha ? "leading master" : "master"];
        cluster.master_process(leader).Signal(SIGKILL);
        cluster.master_process(leader).Wait(absl::Seconds(5));
        pause(200, 2000);
        cluster.StartMaster(leader);
        break;
      }
      case 1: {
        ++faults["agent"];
        const int i = std::uniform_int_distribution<int>(0, kHostAgents - 1)(rng);
        cluster.agent_process(i).Signal(SIGKILL);
        cluster.agent_process(i).Wait(absl::Seconds(5));
        pause(200, 2000);
        cluster.StartAgent(i);
        break;
      }
      case 2: {
        auto executors = ProcessesMentioning(dir + "/agent");  // executors' command lines name their work dir
        std::erase_if(executors, [](pid_t pid) {
          const std::string s = ReadProcFile(absl::StrCat("/proc/", pid, "/cmdline"));
          return s.find("agora-executor") != 0 && s.find("/agora-executor") == std::string::npos;
        });
        if (executors.empty()) break;
        ++faults["executor"];
        ::kill(executors[std::uniform_int_distribution<size_t>(0, executors.size() - 1)(rng)], SIGKILL);
        break;
      }
      case 3:
        ++faults["agora-batch"];
        batch.Kill();
        pause(200, 1500);
        batch.Start();
        break;
      case 4:
        ++faults["agora-services"];
        services.Kill();
        pause(200, 1500);
        services.Start();
        break;
      case 5:
        ++faults["framework"];
        ledger_framework->Stop(/*failover=*/true);
        pause(200, 1500);
        ledger_framework->Start();
        break;
      case 6:
        if (!with_island) break;
        ++faults["partition"];
        island->Cut();
        pause(3000, 6000);  // past the heartbeat timeout: unreachable
        island->Heal();
        break;
      case 7: {  // one server of three at a time: the ensemble keeps a majority
        ++faults["zookeeper server"];
        const int i = std::uniform_int_distribution<int>(0, zk->size() - 1)(rng);
        zk->Kill(i);
        pause(500, 4000);
        zk->Start(i);
        zk->WaitServing();
        break;
      }
    }
  }

  // Settle: everything the workload asked for ends or is back.
  ledger_framework->Revive();
  std::map<std::string, int> job_states;
  json jobs;
  const bool batch_done = WaitFor(
      [&] {
        jobs = cli_json({"job", "list"});
        if (!jobs.is_array() || jobs.empty()) return false;
        job_states.clear();
        for (const json& j : jobs) ++job_states[j.value("state", "?")];
        return job_states["succeeded"] + job_states["failed"] + job_states["killed"] == static_cast<int>(jobs.size());
      },
      absl::Seconds(180));
  json service_list;
  const bool services_back = WaitFor(
      [&] {
        service_list = cli_json({"service", "list"});
        if (!service_list.is_array() || service_list.size() != 2) return false;
        for (const json& s : service_list) {
          if (s.value("healthy", -1) != s.value("instances", -2)) return false;
        }
        return true;
      },
      absl::Seconds(120));
  auto ledger_open = [&] {
    std::lock_guard<std::mutex> lock(ledger.mu);
    int open = static_cast<int>(ledger.to_launch.size());
    for (const auto& [id, states] : ledger.updates) {
      open += std::none_of(states.begin(), states.end(), [](TaskState s) { return IsTerminal(s); });
    }
    return open;
  };
  const bool ledger_done = WaitFor([&] { return ledger_open() == 0; }, absl::Seconds(120));

  // What happened to the test's framework's tasks.
  int finished = 0, lost = 0, failed = 0, conflicting = 0, stuck = 0;
  {
    std::lock_guard<std::mutex> lock(ledger.mu);
    for (const auto& [id, states] : ledger.updates) {
      std::set<TaskState> ends;
      for (TaskState s : states) {
        if (IsTerminal(s)) ends.insert(s);
      }
      if (ends.empty()) ++stuck;
      if (ends.size() > 1) {
        ++conflicting;
        ADD_FAILURE() << id << " ended in " << ends.size() << " different states";
      }
      if (ends.contains(TaskState::kFinished)) ++finished;
      if (ends.contains(TaskState::kLost)) ++lost;
      if (ends.contains(TaskState::kFailed)) ++failed;
    }
  }
  // Batch: an attempt runs at most once; retries are new attempts.
  std::map<std::pair<std::string, std::string>, int> executions;
  {
    std::ifstream in(ledger_file);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> f = absl::StrSplit(line, ' ');
      if (f.size() == 2) ++executions[{f[0], f[1]}];
    }
  }
  int doubled = 0, retried_jobs = 0;
  std::map<std::string, int> attempts_per_job;
  for (const auto& [key, n] : executions) {
    if (n > 1) {
      ++doubled;
      ADD_FAILURE() << "job " << key.first << " attempt " << key.second << " ran " << n << " times";
    }
    ++attempts_per_job[key.first];
  }
  for (const auto& [job, n] : attempts_per_job) retried_jobs += n > 1;

  EXPECT_TRUE(batch_done) << "batch jobs by state: " << json(job_states).dump();
  EXPECT_EQ(job_states["succeeded"], static_cast<int>(jobs.size())) << json(job_states).dump();
  EXPECT_TRUE(services_back) << service_list.dump();
  EXPECT_TRUE(ledger_done);
  EXPECT_EQ(stuck, 0);
  EXPECT_EQ(conflicting, 0);
  EXPECT_EQ(doubled, 0);

  // Stop everything; nothing of this cluster may be left running.
  ledger_framework.reset();  // torn down: its tasks are killed
  CliResult deleted = cli({"service", "delete", "front", "store"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.out;
  WaitFor([&] { return cli_json({"service", "list"}).empty(); }, absl::Seconds(30));
  batch.Stop();
  services.Stop();
  island_agent.reset();
  for (int i = 0; i < kHostAgents; ++i) cluster.StopAgent(i);
  std::vector<pid_t> left;
  const bool clean = WaitFor(
      [&] {
        left = ProcessesMentioning(dir);
        std::erase_if(left, [&](pid_t pid) {
          for (int i = 0; i < options.masters; ++i) {
            if (pid == cluster.master_process(i).pid()) return true;
          }
          return false;
        });
        return left.empty();
      },
      absl::Seconds(20));
  EXPECT_TRUE(clean) << left.size() << " processes of the cluster left, e.g. pid " << (left.empty() ? 0 : left[0]);

  json summary = {{"seed", seed},
                  {"seconds", seconds},
                  {"masters", options.masters},
                  {"masters_restarted_after_exiting", masters_restarted},
                  {"rounds", rounds},
                  {"faults", faults},
                  {"batch_submissions_refused", submit_failures},
                  {"batch_jobs", jobs.size()},
                  {"batch_jobs_by_state", job_states},
                  {"batch_executions", executions.size()},
                  {"batch_jobs_retried", retried_jobs},
                  {"batch_attempts_run_twice", doubled},
                  {"framework_tasks", ledger.updates.size()},
                  {"framework_tasks_finished", finished},
                  {"framework_tasks_failed", failed},
                  {"framework_launches_lost", lost},
                  {"framework_tasks_without_an_end", stuck},
                  {"framework_tasks_with_two_ends", conflicting},
                  {"services_back", services_back},
                  {"processes_left", left.size()}};
  std::cout << "fault suite: " << summary.dump() << std::endl;
  std::ofstream(fs::temp_directory_path() / (ha ? "agora-fault-summary-ha.json" : "agora-fault-summary.json"))
      << summary.dump() << "\n";
}

TEST(FaultTest, AWorkloadSurvivesRandomKillsAndPartitionsWithNothingLostOrDoubled) {
  RunWorkloadUnderFaults(/*ha=*/false);
}

TEST(FaultTest, WithThreeMastersAWorkloadSurvivesLeaderAndZooKeeperKillsWithNothingLostOrDoubled) {
  RunWorkloadUnderFaults(/*ha=*/true);
}

}  // namespace
}  // namespace agora::testing
