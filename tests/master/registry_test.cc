#include "master/registry.h"

#include <sqlite3.h>

#include <deque>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/master/master_test_fixture.h"

namespace agora::master {
namespace {

std::string TempRegistryPath(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("agora-registry-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return (dir / "registry.sqlite").string();
}

TEST(SqliteRegistryTest, CommittedWritesSurviveAReopenAndPendingOnesDoNot) {
  const std::string path = TempRegistryPath("reopen");
  {
    auto registry = OpenSqliteRegistry(path);
    ASSERT_TRUE(registry.ok()) << registry.status();
    (*registry)->PutAgent({"a-1", "host1", RegistryAgent::State::kAdmitted, absl::UnixEpoch()});
    (*registry)->PutFramework({"f-1", "fw", "web", absl::Minutes(5), false});
    EXPECT_TRUE((*registry)->HasPendingWrites());
    ASSERT_TRUE((*registry)->Commit().ok());
    EXPECT_FALSE((*registry)->HasPendingWrites());
    // A later put of the same id wins; this one is never committed.
    (*registry)->PutFramework({"f-1", "fw", "web", absl::Minutes(5), true});
  }
  auto registry = OpenSqliteRegistry(path);
  ASSERT_TRUE(registry.ok());
  auto state = (*registry)->Recover();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->agents.size(), 1u);
  EXPECT_EQ(state->agents[0].hostname, "host1");
  ASSERT_EQ(state->frameworks.size(), 1u);
  EXPECT_EQ(state->frameworks[0].role, "web");
  EXPECT_EQ(state->frameworks[0].failover_timeout, absl::Minutes(5));
  EXPECT_FALSE(state->frameworks[0].removed);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST(SqliteRegistryTest, OwnersSurviveAReopenAndAnOlderRegistryGainsTheirColumn) {
  const std::string path = TempRegistryPath("owners");
  {
    // A registry as written before keys existed: no principal column.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE agents (id TEXT PRIMARY KEY, hostname TEXT NOT NULL, "
                           "state INTEGER NOT NULL, since_us INTEGER NOT NULL);"
                           "CREATE TABLE frameworks (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
                           "role TEXT NOT NULL, failover_timeout_ms INTEGER NOT NULL, "
                           "removed INTEGER NOT NULL);"
                           "INSERT INTO frameworks VALUES ('f-old', 'old', '*', 1000, 0);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  {
    auto registry = OpenSqliteRegistry(path);
    ASSERT_TRUE(registry.ok()) << registry.status();
    (*registry)->PutAgent({"a-1", "host1", RegistryAgent::State::kAdmitted, absl::UnixEpoch(), "agent-key"});
    (*registry)->PutFramework({"f-1", "fw", "batch", absl::Minutes(5), false, "batch-key"});
    ASSERT_TRUE((*registry)->Commit().ok());
  }
  auto state = (*OpenSqliteRegistry(path))->Recover();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->agents.size(), 1u);
  EXPECT_EQ(state->agents[0].principal, "agent-key");
  ASSERT_EQ(state->frameworks.size(), 2u);
  for (const RegistryFramework& f : state->frameworks) {
    EXPECT_EQ(f.principal, f.id == "f-1" ? "batch-key" : "") << f.id;
  }
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST(SqliteRegistryTest, AsyncCommitsLandInOrderOnTheirThreadAndReportOnTheLoop) {
  const std::string path = TempRegistryPath("async");
  SystemClock clock;
  EventLoop loop(clock);
  std::vector<int> done;
  const std::thread::id loop_thread = std::this_thread::get_id();
  auto on_done = [&](int n) {
    return [&, n](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      EXPECT_EQ(std::this_thread::get_id(), loop_thread);
      done.push_back(n);
    };
  };
  {
    auto registry = OpenSqliteRegistry(path, &loop);
    ASSERT_TRUE(registry.ok()) << registry.status();
    (*registry)->PutAgent({"a-1", "host1", RegistryAgent::State::kAdmitted, absl::UnixEpoch()});
    (*registry)->CommitAsync(on_done(1));
    EXPECT_FALSE((*registry)->HasPendingWrites());  // taken by the commit
    (*registry)->PutAgent({"a-1", "host1", RegistryAgent::State::kUnreachable, absl::UnixEpoch()});
    (*registry)->CommitAsync(on_done(2));
    EXPECT_TRUE(done.empty());  // reported on the loop, never inline
    for (int i = 0; i < 100 && done.size() < 2; ++i) loop.RunOnce(absl::Milliseconds(50));
    EXPECT_EQ(done, (std::vector<int>{1, 2}));
    // Buffered, never started: dropped with the registry, as in a crash.
    (*registry)->PutFramework({"f-1", "fw", "web", absl::Minutes(5), false});
  }
  auto state = (*OpenSqliteRegistry(path))->Recover();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->agents.size(), 1u);
  EXPECT_EQ(state->agents[0].state, RegistryAgent::State::kUnreachable);  // the later commit
  EXPECT_TRUE(state->frameworks.empty());
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST(SqliteRegistryTest, AnUnwritablePathIsAnError) {
  EXPECT_FALSE(OpenSqliteRegistry("/proc/no/such/dir/registry.sqlite").ok());
}

class MasterRegistryTest : public MasterTest {
 protected:
  void SetUp() override {
    path_ = TempRegistryPath(::testing::UnitTest::GetInstance()->current_test_info()->name());
    registry_ = *OpenSqliteRegistry(path_);
    MasterTest::SetUp();
  }
  void TearDown() override {
    master_.reset();
    registry_.reset();
    std::filesystem::remove_all(std::filesystem::path(path_).parent_path());
  }
  // A crash and restart: a new master on a fresh handle to the same file.
  void CrashAndRestart() {
    master_.reset();
    registry_ = *OpenSqliteRegistry(path_);
    Restart();
  }
  std::string RestartUnderAFrameworkWithoutFailover();
  std::string path_;
};

TEST_F(MasterRegistryTest, RolesOperatorsSetSurviveARestartAndWinOverTheFlags) {
  ASSERT_TRUE(ParseRoleWeights("batch=5,web=2", &options_.roles).ok());
  ASSERT_TRUE(ParseRoleQuota("batch=cpus:1", &options_.roles).ok());
  Restart();
  WireMessage msg;
  auto op = NewEnvelope(msg, 40).initOperatorRole();
  op.setRole("batch");
  op.setWeight(0.5);
  op.setQuota(wire::OperatorRole::QuotaAction::REMOVE);
  ASSERT_TRUE(Deliver("op", msg).ok());
  EXPECT_EQ(transport_.Count("op", W::OK), 1u);
  CrashAndRestart();  // with the same flags
  auto roles = nlohmann::json::parse(*master_->QueryJson("roles"));
  ASSERT_EQ(roles.size(), 2u) << roles;
  EXPECT_EQ(roles[0]["name"], "batch");
  EXPECT_EQ(roles[0]["weight"], 0.5);
  EXPECT_TRUE(roles[0]["quota"].is_null());
  EXPECT_EQ(roles[1]["weight"], 2.0);  // web: untouched, from the flag
  // And the allocator follows: batch is no longer capped at 1 cpu.
  RegisterAgent("agent1");
  Subscribe("fw1", "batch");
  Settle();
  Resources offered;
  for (const OfferView& o : TakeOffers("fw1")) offered += o.resources;
  EXPECT_DOUBLE_EQ(offered.cpus(), 4);
}

TEST_F(MasterRegistryTest, FrameworkFailoverTimeoutSurvivesARestart) {
  options_.framework_resubscribe_timeout = absl::Seconds(10);
  Restart();
  const std::string a1 = RegisterAgent("agent1");
  const std::string fw = SubscribeAndLaunch("fw1", "t1", absl::Seconds(30));
  CrashAndRestart();
  ASSERT_TRUE(master_->frameworks().contains(fw));
  EXPECT_EQ(master_->frameworks().at(fw).state, FrameworkState::kDisconnected);
  // Its agent comes back with the task; the framework does not: its own
  // failover timeout starts once the re-subscription window is over.
  Reregister("agent1", a1, fw, Task("t1", 1, 1), wire::TaskState::RUNNING);
  live_agents_["agent1"] = a1;
  Advance(absl::Seconds(10 + 29));
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::KILL_TASK), 0u);
  Advance(absl::Seconds(2));
  EXPECT_FALSE(master_->frameworks().contains(fw));
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::KILL_TASK), 1u);
  // Removed for good: it cannot come back after another restart either.
  CrashAndRestart();
  WireMessage msg;
  auto sub = NewEnvelope(msg, 2).initSubscribe();
  sub.setFrameworkId(fw);
  sub.setName("fw");
  ASSERT_TRUE(Deliver("fw1", msg).ok());
  EXPECT_EQ(TakeErrors("fw1").size(), 1u);
}

// A master with a 10 s re-subscription window restarts under a framework
// with failover timeout 0 (`agora run`, Mesos' default) and its task on
// agent1; the agent is back, 9 s pass. The framework's id.
std::string MasterRegistryTest::RestartUnderAFrameworkWithoutFailover() {
  options_.framework_resubscribe_timeout = absl::Seconds(10);
  Restart();
  const std::string a1 = RegisterAgent("agent1");
  const std::string fw = SubscribeAndLaunch("fw1", "t1", absl::ZeroDuration());
  CrashAndRestart();
  Reregister("agent1", a1, fw, Task("t1", 1, 1), wire::TaskState::RUNNING);
  live_agents_["agent1"] = a1;
  Advance(absl::Seconds(9));
  return fw;
}

// A restart is not the framework's disconnection: it keeps its tasks while
// it subscribes again.
TEST_F(MasterRegistryTest, ARestartDoesNotCountAgainstAFrameworksFailoverTimeout) {
  const std::string fw = RestartUnderAFrameworkWithoutFailover();
  ASSERT_TRUE(master_->frameworks().contains(fw));
  EXPECT_EQ(Subscribe("fw1", "*", fw, absl::ZeroDuration()), fw);
  Advance(absl::Minutes(5));
  ASSERT_TRUE(master_->frameworks().contains(fw));
  EXPECT_EQ(master_->frameworks().at(fw).state, FrameworkState::kActive);
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::KILL_TASK), 0u);
}

TEST_F(MasterRegistryTest, AFrameworkThatDoesNotComeBackAfterARestartIsRemovedAfterTheWindow) {
  const std::string fw = RestartUnderAFrameworkWithoutFailover();
  EXPECT_TRUE(master_->frameworks().contains(fw));
  Advance(absl::Seconds(2));
  EXPECT_FALSE(master_->frameworks().contains(fw));
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::KILL_TASK), 1u);
}

TEST_F(MasterRegistryTest, ARecoveredFrameworkMustSubscribeAgain) {
  const std::string fw = Subscribe("fw1", "*", "", absl::Minutes(10));
  CrashAndRestart();
  FrameworkHeartbeat("fw1", fw);
  auto errors = transport_.Take("fw1", wire::Envelope::ERROR);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]->env().getError().getCode(), wire::ErrorCode::UNKNOWN_FRAMEWORK);
  EXPECT_EQ(Subscribe("fw1", "*", fw, absl::Minutes(10)), fw);
  EXPECT_EQ(master_->frameworks().at(fw).state, FrameworkState::kActive);
}

TEST_F(MasterRegistryTest, AgentThatDoesNotReturnIsUnreachableAfterTheReregisterTimeout) {
  options_.agent_reregister_timeout = absl::Seconds(3);
  Restart();
  const std::string a1 = RegisterAgent("agent1");
  const std::string a2 = RegisterAgent("agent2");
  CrashAndRestart();
  Reregister("agent1", a1, "f-x", Task("t1", 1, 1), wire::TaskState::RUNNING);
  live_agents_["agent1"] = a1;
  Advance(absl::Seconds(3));
  EXPECT_EQ(master_->agents().at(a1).state, AgentState::kActive);
  ASSERT_TRUE(master_->agents().contains(a2));
  EXPECT_EQ(master_->agents().at(a2).state, AgentState::kUnreachable);
  EXPECT_EQ(master_->agents().at(a2).hostname, "host-agent2");
}

TEST_F(MasterRegistryTest, AgentsThatDoNotReturnAfterARestartTurnUnreachableThroughTheGuard) {
  // A master cut off from its agents after a restart must not declare them
  // all unreachable (and, later, gone) at once.
  options_.agent_reregister_timeout = absl::Seconds(3);
  options_.max_unreachable_share = 0.2;
  Restart();
  for (int i = 0; i < 10; ++i) RegisterAgent("agent" + std::to_string(i));
  CrashAndRestart();
  auto unreachable = [&] {
    int n = 0;
    for (const auto& [id, a] : master_->agents()) n += a.state == AgentState::kUnreachable;
    return n;
  };
  Advance(absl::Seconds(3) + absl::Milliseconds(100));
  EXPECT_EQ(unreachable(), 2);  // 20% of 10 per heartbeat timeout (5s)
  Advance(absl::Seconds(5));
  EXPECT_EQ(unreachable(), 4);
  EXPECT_GT(master_->stats().expiries_deferred, 0u);
  Advance(absl::Seconds(25));
  EXPECT_EQ(unreachable(), 10);
}

TEST_F(MasterRegistryTest, AGoneAgentStaysGoneAfterARestart) {
  options_.agent_gone_timeout = absl::Seconds(10);
  Restart();
  const std::string a1 = RegisterAgent("agent1");
  Silence("agent1");
  Advance(absl::Seconds(16));
  ASSERT_EQ(master_->agents().at(a1).state, AgentState::kGone);
  CrashAndRestart();
  WireMessage msg;
  auto reg = NewEnvelope(msg, 1).initRegisterAgent();
  reg.setAgentId(a1);
  reg.setHostname("host-agent1");
  ToWire(*Resources::Parse("cpus:1;mem:1"), reg.initResources());
  ASSERT_TRUE(Deliver("agent1", msg).ok());
  auto errors = transport_.Take("agent1", wire::Envelope::ERROR);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]->env().getError().getCode(), wire::ErrorCode::AGENT_GONE);
}

TEST_F(MasterRegistryTest, ADrainStopsOffersTellsTheFrameworkKillsAtTheDeadlineAndSurvivesARestart) {
  const std::string a1 = RegisterAgent("agent1");
  const std::string fw = SubscribeAndLaunch("fw1", "t1");
  AgentUpdate("agent1", a1, fw, "t1", TaskState::kRunning, "u1");
  Settle();
  transport_.Take("fw1", W::OFFERS);
  WireMessage drain;
  auto op = NewEnvelope(drain, 9).initOperatorAgent();
  op.setAgent("host-agent1");  // by hostname
  op.setAction(wire::OperatorAgent::Action::DRAIN);
  op.setDeadlineMs(30000);
  ASSERT_TRUE(Deliver("op", drain).ok());
  EXPECT_EQ(transport_.Count("op", W::OK), 1u);
  EXPECT_EQ(master_->agents().at(a1).state, AgentState::kDraining);
  auto told = transport_.Take("fw1", W::AGENT_DRAINING);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(std::string(told[0]->env().getAgentDraining().getAgentId()), a1);
  EXPECT_GT(told[0]->env().getAgentDraining().getDeadlineUnixMs(), 0);
  Settle();
  EXPECT_TRUE(TakeOffers("fw1").empty());  // no offers from a draining agent

  // The master restarts: the agent comes back still draining, deadline kept.
  CrashAndRestart();
  Reregister("agent1", a1, fw, Task("t1", 1, 1), wire::TaskState::RUNNING);
  live_agents_["agent1"] = a1;
  Subscribe("fw1", "*", fw);
  EXPECT_EQ(master_->agents().at(a1).state, AgentState::kDraining);
  EXPECT_EQ(transport_.Count("agent1", W::KILL_TASK), 0u);
  Advance(absl::Seconds(31));  // past the deadline: what is left is killed
  EXPECT_EQ(transport_.Count("agent1", W::KILL_TASK), 1u);
  AgentUpdate("agent1", a1, fw, "t1", TaskState::kKilled, "u2");
  EXPECT_EQ(master_->agents().at(a1).state, AgentState::kDrained);
}

// A registry that checks, when it commits, that the answer to the request
// being persisted has not left yet.
class WatchingRegistry final : public Registry {
 public:
  explicit WatchingRegistry(std::function<void()> on_commit) : on_commit_(std::move(on_commit)) {}
  absl::StatusOr<RegistryState> Recover() override { return RegistryState(); }
  void PutAgent(const RegistryAgent&) override { pending_ = true; }
  void PutFramework(const RegistryFramework&) override { pending_ = true; }
  void PutRole(const RegistryRole&) override { pending_ = true; }
  bool HasPendingWrites() const override { return pending_; }
  absl::Status Commit() override {
    on_commit_();
    pending_ = false;
    ++commits;
    return absl::OkStatus();
  }
  int commits = 0;

 private:
  std::function<void()> on_commit_;
  bool pending_ = false;
};

// A registry whose commits end when the test says so, as a slow disk's.
class DeferredRegistry final : public Registry {
 public:
  absl::StatusOr<RegistryState> Recover() override { return RegistryState(); }
  void PutAgent(const RegistryAgent&) override { pending_ = true; }
  void PutFramework(const RegistryFramework&) override { pending_ = true; }
  void PutRole(const RegistryRole&) override { pending_ = true; }
  bool HasPendingWrites() const override { return pending_; }
  absl::Status Commit() override { return absl::OkStatus(); }
  void CommitAsync(std::function<void(absl::Status)> done) override {
    pending_ = false;
    started.push_back(std::move(done));
  }
  void FinishOne() {
    auto done = std::move(started.front());
    started.pop_front();
    done(absl::OkStatus());
  }
  std::deque<std::function<void(absl::Status)>> started;

 private:
  bool pending_ = false;
};

TEST_F(MasterTest, AnswersWaitForTheCommitsBeforeThemWhileTheMasterGoesOn) {
  auto deferred = std::make_unique<DeferredRegistry>();
  DeferredRegistry* registry = deferred.get();
  registry_ = std::move(deferred);
  Restart();
  WireMessage reg;
  auto r = NewEnvelope(reg, 1).initRegisterAgent();
  r.setHostname("host-agent1");
  ToWire(*Resources::Parse("cpus:4;mem:4096"), r.initResources());
  ASSERT_TRUE(Deliver("agent1", reg).ok());
  ASSERT_EQ(registry->started.size(), 1u);
  EXPECT_EQ(transport_.Count("agent1", W::AGENT_REGISTERED), 0u);
  // The master goes on while the disk works: fw1 subscribes; its write waits
  // for the next commit (one at a time), and so does its answer.
  WireMessage sub;
  auto s = NewEnvelope(sub, 2).initSubscribe();
  s.setName("fw-fw1");
  s.setRole("*");
  ASSERT_TRUE(Deliver("fw1", sub).ok());
  EXPECT_EQ(registry->started.size(), 1u);
  // An answer that follows no write of its own still waits for those before it.
  WireMessage query;
  NewEnvelope(query, 6).initOperatorQuery().setQuery("frameworks");
  ASSERT_TRUE(Deliver("op", query).ok());
  EXPECT_EQ(transport_.Count("op", W::OPERATOR_REPLY), 0u);

  registry->FinishOne();  // the agent's registration is durable
  EXPECT_EQ(transport_.Count("agent1", W::AGENT_REGISTERED), 1u);
  EXPECT_EQ(transport_.Count("fw1", W::SUBSCRIBED), 0u);
  EXPECT_EQ(transport_.Count("op", W::OPERATOR_REPLY), 0u);
  ASSERT_EQ(registry->started.size(), 1u);  // fw1's commit, started at once

  registry->FinishOne();
  EXPECT_EQ(transport_.Count("fw1", W::SUBSCRIBED), 1u);
  EXPECT_EQ(transport_.Count("op", W::OPERATOR_REPLY), 1u);
  // Nothing waits now: answers go straight out again.
  ASSERT_TRUE(Deliver("op", query).ok());
  EXPECT_EQ(transport_.Count("op", W::OPERATOR_REPLY), 2u);
  EXPECT_TRUE(registry->started.empty());
}

TEST_F(MasterTest, AnswersLeaveOnlyAfterTheRegistryCommitted) {
  size_t answered_before_commit = 0;
  auto watching = std::make_unique<WatchingRegistry>([&] {
    answered_before_commit += transport_.Count("agent1", wire::Envelope::AGENT_REGISTERED) +
                              transport_.Count("fw1", wire::Envelope::SUBSCRIBED);
  });
  WatchingRegistry* registry = watching.get();
  registry_ = std::move(watching);
  Restart();
  RegisterAgent("agent1");
  Subscribe("fw1");
  EXPECT_EQ(registry->commits, 2);
  EXPECT_EQ(answered_before_commit, 0u);
}

}  // namespace
}  // namespace agora::master
