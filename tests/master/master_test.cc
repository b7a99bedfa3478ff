#include <cmath>

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

#include "master/master.h"

#include "tests/master/master_test_fixture.h"

namespace agora::master {
namespace {

TEST_F(MasterTest, RegistersAnAgentAndOffersItToAFramework) {
  const std::string agent = RegisterAgent("agent1");
  ASSERT_FALSE(agent.empty());
  const std::string fw = Subscribe("fw1");
  Settle();
  auto offers = TakeOffers("fw1");
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].agent_id, agent);
  EXPECT_EQ(offers[0].resources, *Resources::Parse("cpus:4;mem:4096"));
  EXPECT_EQ(master_->agents().at(agent).state, AgentState::kActive);
}

// An agent asks again when its first answer is slow (held until the
// registry's commit, or sent to a master elected meanwhile): it is still one
// agent, not two with the same resources.
TEST_F(MasterTest, AnAgentThatRegistersAgainBeforeItHeardItsIdStaysOneAgent) {
  const std::string first = RegisterAgent("agent1");
  const std::string again = RegisterAgent("agent1");  // no id yet: the first answer is in flight
  EXPECT_EQ(again, first);
  EXPECT_EQ(master_->agents().size(), 1u);
  // Another agent process (another connection) is another agent.
  EXPECT_NE(RegisterAgent("agent2"), first);
  EXPECT_EQ(master_->agents().size(), 2u);
  // So is another host on the same connection (agora-loadgen's emulated agents).
  WireMessage msg;
  auto reg = NewEnvelope(msg, 1).initRegisterAgent();
  reg.setHostname("another-host");
  ToWire(*Resources::Parse("cpus:4;mem:4096"), reg.initResources());
  ASSERT_TRUE(Deliver("agent1", msg).ok());
  auto replies = transport_.Take("agent1", W::AGENT_REGISTERED);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_NE(std::string(replies[0]->env().getAgentRegistered().getAgentId()), first);
  EXPECT_EQ(master_->agents().size(), 3u);
}

TEST_F(MasterTest, AFrameworkThatSubscribesAgainBeforeItHeardItsIdStaysOneFramework) {
  const std::string first = Subscribe("fw1");
  EXPECT_EQ(Subscribe("fw1"), first);
  EXPECT_EQ(master_->frameworks().size(), 1u);
  EXPECT_NE(Subscribe("fw2"), first);
  // Torn down, it is gone: the same connection subscribing anew is a new framework.
  WireMessage msg;
  NewEnvelope(msg, 3).initTeardown().setFrameworkId(first);
  ASSERT_TRUE(Deliver("fw1", msg).ok());
  const std::string next = Subscribe("fw1");
  EXPECT_FALSE(next.empty());
  EXPECT_NE(next, first);
}

// A refused subscription leaves nothing behind that a later one could trip
// on (it once left an entry naming a framework since removed).
TEST_F(MasterTest, ARefusedResubscriptionLeavesNoTraceForALaterSubscription) {
  auto subscribe = [&](const PeerId& peer, const std::string& id, const std::string& role) {
    WireMessage msg;
    auto sub = NewEnvelope(msg, 2).initSubscribe();
    sub.setFrameworkId(id);
    sub.setName("sweep");
    sub.setRole(role);
    EXPECT_TRUE(Deliver(peer, msg).ok());
    auto replies = transport_.Take(peer, W::SUBSCRIBED);
    return replies.empty() ? std::string() : std::string(replies[0]->env().getSubscribed().getFrameworkId());
  };
  const std::string first = subscribe("p1", "", "r");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(subscribe("p2", first, "other-role"), "");  // refused: a role cannot change
  EXPECT_EQ(TakeErrors("p2").size(), 1u);
  WireMessage teardown;
  NewEnvelope(teardown, 3).initTeardown().setFrameworkId(first);
  ASSERT_TRUE(Deliver("p1", teardown).ok());
  const std::string next = subscribe("p2", "", "r");
  EXPECT_FALSE(next.empty());
  EXPECT_NE(next, first);
}

TEST_F(MasterTest, RejectsAnAgentWithoutHostnameOrResources) {
  WireMessage msg;
  auto reg = NewEnvelope(msg, 1).initRegisterAgent();
  reg.setHostname("");
  ASSERT_TRUE(Deliver("bad", msg).ok());
  auto errors = TakeErrors("bad");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("hostname"), std::string::npos);
  EXPECT_TRUE(master_->agents().empty());
  EXPECT_EQ(master_->stats().invalid_messages, 1u);
}

TEST_F(MasterTest, LaunchesATaskAndReturnsTheUnusedPartAtOnce) {
  const std::string agent = RegisterAgent("agent1");
  const std::string fw = Subscribe("fw1");
  Settle();
  auto offers = TakeOffers("fw1");
  ASSERT_EQ(offers.size(), 1u);
  Accept("fw1", fw, {offers[0].id}, {Task("t1", 1, 1024)});
  EXPECT_EQ(transport_.Take("fw1", wire::Envelope::OK).size(), 1u);
  auto runs = transport_.Take("agent1", wire::Envelope::RUN_TASK);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(std::string(runs[0]->env().getRunTask().getTask().getTaskId()), "t1");
  EXPECT_EQ(master_->tasks().at(TaskKey{fw, "t1"}).state, TaskState::kStaging);
  // The remainder is offered again (the default accept filter is 5s; a
  // second framework gets it right away).
  Subscribe("fw2");
  Settle();
  auto again = TakeOffers("fw2");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].resources, *Resources::Parse("cpus:3;mem:3072"));
}

TEST_F(MasterTest, AcceptOfAStaleOfferIsAnErrorAndLaunchesNothing) {
  RegisterAgent("agent1");
  const std::string fw = Subscribe("fw1");
  Settle();
  auto offers = TakeOffers("fw1");
  ASSERT_EQ(offers.size(), 1u);
  Accept("fw1", fw, {offers[0].id}, {Task("t1", 1, 1)});
  transport_.Clear();
  Accept("fw1", fw, {offers[0].id}, {Task("t2", 1, 1)});  // used already
  auto errors = transport_.Take("fw1", wire::Envelope::ERROR);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]->env().getError().getCode(), wire::ErrorCode::STALE_OFFER);
  EXPECT_EQ(errors[0]->env().getRequestId(), 9u);
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::RUN_TASK), 0u);
  EXPECT_FALSE(master_->tasks().contains(TaskKey{fw, "t2"}));
}

TEST_F(MasterTest, AcceptAskingMoreThanOfferedIsRejectedAndTheOfferReturns) {
  RegisterAgent("agent1", "cpus:2;mem:100");
  const std::string fw = Subscribe("fw1");
  Settle();
  auto offers = TakeOffers("fw1");
  Accept("fw1", fw, {offers[0].id}, {Task("t1", 1.5, 10), Task("t2", 1, 10)});
  auto errors = TakeErrors("fw1");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("cpus: asked 2.5, have 2"), std::string::npos) << errors[0];
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::RUN_TASK), 0u);
  EXPECT_TRUE(master_->offers().empty());
  // The resources are back in the pool and offered again at once.
  Subscribe("fw2");
  Settle();
  EXPECT_EQ(TakeOffers("fw1").size() + TakeOffers("fw2").size(), 1u);
}

TEST_F(MasterTest, TwoTasksClaimingTheSamePortAreRejected) {
  RegisterAgent("agent1", "cpus:4;mem:100;ports:[31000-31010]");
  const std::string fw = Subscribe("fw1");
  Settle();
  auto offers = TakeOffers("fw1");
  ASSERT_EQ(offers.size(), 1u);
  TaskSpec a = Task("a", 1, 1), b = Task("b", 1, 1);
  a.resources.set_ports(PortSet({{31000, 31001}}));
  b.resources.set_ports(PortSet({{31001, 31002}}));
  Accept("fw1", fw, {offers[0].id}, {a, b});
  auto errors = TakeErrors("fw1");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("task b asks for ports [31001-31001]"), std::string::npos) << errors[0];
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::RUN_TASK), 0u);
}

TEST_F(MasterTest, AcceptOfAnotherFrameworksOfferIsRejected) {
  RegisterAgent("agent1");
  Subscribe("fw1");
  Settle();
  auto offers = TakeOffers("fw1");
  const std::string fw2 = Subscribe("fw2");
  Accept("fw2", fw2, {offers[0].id}, {Task("t1", 1, 1)});
  auto errors = TakeErrors("fw2");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("another framework"), std::string::npos);
  // fw1's offer is untouched.
  EXPECT_TRUE(master_->offers().contains(offers[0].id));
}

TEST_F(MasterTest, RejectsTasksWithBadIdsDuplicatesOrNoCommand) {
  RegisterAgent("agent1");
  const std::string fw = Subscribe("fw1");
  for (const TaskSpec& bad : {Task("../etc", 1, 1), Task("", 1, 1), Task("ok", 0, 0)}) {
    Settle();
    auto offers = TakeOffers("fw1");
    ASSERT_EQ(offers.size(), 1u);
    Accept("fw1", fw, {offers[0].id}, {bad});
    EXPECT_EQ(TakeErrors("fw1").size(), 1u) << bad.task_id;
    master_->AllocateNow();
  }
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::RUN_TASK), 0u);
}

TEST_F(MasterTest, MessagesFromUnknownFrameworksAreRejected) {
  WireMessage msg;
  NewEnvelope(msg, 5).initSuppress().setFrameworkId("f-nobody");
  ASSERT_TRUE(Deliver("x", msg).ok());
  auto errors = transport_.Take("x", wire::Envelope::ERROR);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]->env().getError().getCode(), wire::ErrorCode::UNKNOWN_FRAMEWORK);
}

TEST_F(MasterTest, AnotherConnectionCannotActForAFramework) {
  const std::string fw = Subscribe("fw1");
  WireMessage msg;
  NewEnvelope(msg, 5).initTeardown().setFrameworkId(fw);
  ASSERT_TRUE(Deliver("intruder", msg).ok());
  EXPECT_EQ(TakeErrors("intruder").size(), 1u);
  EXPECT_TRUE(master_->frameworks().contains(fw));
}

TEST_F(MasterTest, DeclineFiltersTheAgentForThatFramework) {
  RegisterAgent("agent1");
  const std::string fw = Subscribe("fw1");
  Settle();
  auto offers = TakeOffers("fw1");
  WireMessage msg;
  auto decline = NewEnvelope(msg).initDecline();
  decline.setFrameworkId(fw);
  decline.initOfferIds(1).set(0, offers[0].id);
  decline.setRefuseSeconds(10);
  ASSERT_TRUE(Deliver("fw1", msg).ok());
  Advance(absl::Seconds(9));
  EXPECT_TRUE(TakeOffers("fw1").empty());
  Advance(absl::Seconds(2));
  EXPECT_EQ(TakeOffers("fw1").size(), 1u);
}

TEST_F(MasterTest, SuppressStopsOffersAndReviveResumesThem) {
  RegisterAgent("agent1");
  const std::string fw = Subscribe("fw1");
  WireMessage suppress;
  NewEnvelope(suppress).initSuppress().setFrameworkId(fw);
  ASSERT_TRUE(Deliver("fw1", suppress).ok());
  Advance(absl::Seconds(1));
  EXPECT_TRUE(TakeOffers("fw1").empty());
  WireMessage revive;
  NewEnvelope(revive).initRevive().setFrameworkId(fw);
  ASSERT_TRUE(Deliver("fw1", revive).ok());
  Settle();
  EXPECT_EQ(TakeOffers("fw1").size(), 1u);
}

TEST_F(MasterTest, UnansweredOffersTimeOutAndAreRescinded) {
  options_.offer_timeout = absl::Seconds(3);
  Restart();
  RegisterAgent("agent1");
  Subscribe("fw1");
  Settle();
  auto offers = TakeOffers("fw1");
  ASSERT_EQ(offers.size(), 1u);
  Advance(absl::Seconds(3));
  auto rescinds = transport_.Take("fw1", wire::Envelope::RESCIND_OFFER);
  ASSERT_EQ(rescinds.size(), 1u);
  EXPECT_EQ(std::string(rescinds[0]->env().getRescindOffer().getOfferId()), offers[0].id);
  EXPECT_FALSE(master_->offers().contains(offers[0].id));
}

TEST_F(MasterTest, SilentAgentTurnsUnreachableItsTasksReportedAndOffersRescinded) {
  const std::string a1 = RegisterAgent("agent1");
  const std::string a2 = RegisterAgent("agent2");
  const std::string fw = Subscribe("fw1");
  Settle();
  auto offers = TakeOffers("fw1");
  ASSERT_EQ(offers.size(), 2u);
  const auto& on_a1 = offers[0].agent_id == a1 ? offers[0] : offers[1];
  Accept("fw1", fw, {on_a1.id}, {Task("t1", 1, 1)});
  // agent2 keeps beating, agent1 falls silent.
  Silence("agent1");
  Advance(absl::Seconds(5));
  EXPECT_EQ(master_->agents().at(a1).state, AgentState::kActive);
  Advance(absl::Milliseconds(500));
  EXPECT_EQ(master_->agents().at(a1).state, AgentState::kUnreachable);
  EXPECT_EQ(master_->agents().at(a2).state, AgentState::kActive);
  auto updates = TakeUpdates("fw1");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].task_id, "t1");
  EXPECT_EQ(updates[0].state, TaskState::kUnreachable);
  EXPECT_TRUE(updates[0].uuid.empty());
  EXPECT_EQ(transport_.Count("fw1", wire::Envelope::AGENT_LOST), 1u);
}

TEST_F(MasterTest, UnreachableAgentThatReturnsIsAskedToReregisterAndKeepsItsTasks) {
  const std::string a1 = RegisterAgent("agent1");
  const std::string fw = SubscribeAndLaunch("fw1", "t1");
  AgentUpdate("agent1", a1, fw, "t1", TaskState::kRunning, "u1");
  Silence("agent1");
  Advance(absl::Seconds(6));
  ASSERT_EQ(master_->agents().at(a1).state, AgentState::kUnreachable);
  TakeUpdates("fw1");
  Heartbeat("agent1", a1);
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::REREGISTER_AGENT), 1u);
  // It re-registers with the task still running.
  Reregister("agent1", a1, fw, Task("t1", 1, 1), wire::TaskState::RUNNING);
  EXPECT_EQ(master_->agents().at(a1).state, AgentState::kActive);
  auto updates = TakeUpdates("fw1");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].state, TaskState::kRunning);
  EXPECT_EQ(master_->tasks().at(TaskKey{fw, "t1"}).state, TaskState::kRunning);
}

TEST_F(MasterTest, MassExpiryGuardHoldsBackMostAgents) {
  options_.max_unreachable_share = 0.3;
  Restart();
  for (int i = 0; i < 10; ++i) {
    RegisterAgent("agent" + std::to_string(i));
    Silence("agent" + std::to_string(i));
  }
  Advance(absl::Milliseconds(5200));
  int unreachable = 0;
  for (const auto& [id, a] : master_->agents()) unreachable += a.state == AgentState::kUnreachable;
  EXPECT_EQ(unreachable, 3);
  EXPECT_GT(master_->stats().expiries_deferred, 0u);
  // The next window lets the next share go.
  Advance(absl::Seconds(5));
  unreachable = 0;
  for (const auto& [id, a] : master_->agents()) unreachable += a.state == AgentState::kUnreachable;
  EXPECT_EQ(unreachable, 6);
}

TEST_F(MasterTest, StatusUpdatesAreForwardedAndAcknowledgementsRelayed) {
  const std::string a1 = RegisterAgent("agent1");
  const std::string fw = SubscribeAndLaunch("fw1", "t1");
  AgentUpdate("agent1", a1, fw, "t1", TaskState::kFinished, "u-finished");
  auto updates = TakeUpdates("fw1");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].uuid, "u-finished");
  EXPECT_EQ(master_->agents().at(a1).used, Resources());

  WireMessage msg;
  auto ack = NewEnvelope(msg).initAcknowledge();
  ack.setFrameworkId(fw);
  ack.setAgentId(a1);
  ack.setTaskId("t1");
  ack.setUuid("u-finished");
  ASSERT_TRUE(Deliver("fw1", msg).ok());
  auto relayed = transport_.Take("agent1", wire::Envelope::ACKNOWLEDGE);
  ASSERT_EQ(relayed.size(), 1u);
  EXPECT_EQ(std::string(relayed[0]->env().getAcknowledge().getUuid()), "u-finished");
  // Acknowledged terminal tasks move to the completed list.
  EXPECT_FALSE(master_->tasks().contains(TaskKey{fw, "t1"}));
  EXPECT_EQ(master_->completed_tasks().size(), 1u);
}

TEST_F(MasterTest, ImplicitReconciliationReportsEveryKnownTask) {
  const std::string a1 = RegisterAgent("agent1");
  const std::string fw = Subscribe("fw1");
  Settle();
  auto offers = TakeOffers("fw1");
  Accept("fw1", fw, {offers[0].id}, {Task("t1", 1, 1), Task("t2", 1, 1)});
  AgentUpdate("agent1", a1, fw, "t1", TaskState::kRunning, "u1");
  TakeUpdates("fw1");
  WireMessage msg;
  NewEnvelope(msg).initReconcile().setFrameworkId(fw);
  ASSERT_TRUE(Deliver("fw1", msg).ok());
  auto updates = TakeUpdates("fw1");
  ASSERT_EQ(updates.size(), 2u);
  for (const TaskStatus& s : updates) {
    EXPECT_EQ(s.state, s.task_id == "t1" ? TaskState::kRunning : TaskState::kStaging);
    EXPECT_EQ(s.reason, "reconciliation");
  }
}

TEST_F(MasterTest, ExplicitReconciliationCallsUnknownTasksLostOnceAgentsSettled) {
  options_.agent_reregister_timeout = absl::Seconds(2);
  Restart();
  const std::string fw = Subscribe("fw1");
  auto reconcile = [&] {
    WireMessage msg;
    auto r = NewEnvelope(msg).initReconcile();
    r.setFrameworkId(fw);
    r.initTaskIds(1).set(0, "ghost");
    ASSERT_TRUE(Deliver("fw1", msg).ok());
  };
  reconcile();
  EXPECT_TRUE(TakeUpdates("fw1").empty());  // agents may still re-register
  Advance(options_.agent_reregister_timeout);
  reconcile();
  auto updates = TakeUpdates("fw1");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].state, TaskState::kLost);
}

TEST_F(MasterTest, KillGoesToTheAgentAndUnknownTasksAreAnError) {
  RegisterAgent("agent1");
  const std::string fw = SubscribeAndLaunch("fw1", "t1");
  for (const char* id : {"t1", "nope"}) {
    WireMessage msg;
    auto kill = NewEnvelope(msg, 3).initKillTask();
    kill.setFrameworkId(fw);
    kill.setTaskId(id);
    ASSERT_TRUE(Deliver("fw1", msg).ok());
  }
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::KILL_TASK), 1u);
  EXPECT_EQ(TakeErrors("fw1").size(), 1u);
}

TEST_F(MasterTest, DisconnectedFrameworkIsRemovedAfterItsFailoverTimeout) {
  RegisterAgent("agent1");
  const std::string fw = SubscribeAndLaunch("fw1", "t1", absl::Seconds(30));
  Silence("fw1");
  Advance(absl::Seconds(6));
  EXPECT_EQ(master_->frameworks().at(fw).state, FrameworkState::kDisconnected);
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::KILL_TASK), 0u);
  Advance(absl::Seconds(30));
  EXPECT_FALSE(master_->frameworks().contains(fw));
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::KILL_TASK), 1u);
}

// `agora job submit` asks for agora-batch's API: while agora-batch is
// disconnected (re-subscribing after a failover) the answer says so and may
// be asked again; a framework nobody knows is not found.
TEST_F(MasterTest, TheApiOfADisconnectedFrameworkIsUnavailableAndOfAnUnknownOneNotFound) {
  const std::string fw = Subscribe("fw1");
  Silence("fw1");
  Advance(absl::Seconds(6));
  ASSERT_EQ(master_->frameworks().at(fw).state, FrameworkState::kDisconnected);
  auto ask = [&](const std::string& target) {
    WireMessage msg;
    NewEnvelope(msg, 9).initHttpAccessRequest().setTarget(target);
    EXPECT_TRUE(Deliver("cli", msg).ok());
    auto errors = transport_.Take("cli", W::ERROR);
    EXPECT_EQ(errors.size(), 1u);
    return errors.empty() ? wire::ErrorCode::INTERNAL : errors[0]->env().getError().getCode();
  };
  EXPECT_EQ(ask("framework:fw-fw1"), wire::ErrorCode::UNAVAILABLE);
  EXPECT_EQ(ask("framework:nobody"), wire::ErrorCode::NOT_FOUND);
}

// A leader paused (out of touch with ZooKeeper) decides nothing: a
// failover timeout or an agent's gone timeout that comes due meanwhile waits
// until it has resumed and read what queued up, so a framework that
// re-subscribes right then keeps its tasks.
TEST_F(MasterTest, NoTimeoutActsWhilePausedNorBeforeWhatQueuedUpIsRead) {
  RegisterAgent("agent1");
  const std::string fw = SubscribeAndLaunch("fw1", "t1", absl::Seconds(30));
  const std::string silent = RegisterAgent("agent2");
  Silence("fw1");
  Silence("agent2");
  Advance(absl::Seconds(6));
  ASSERT_EQ(master_->frameworks().at(fw).state, FrameworkState::kDisconnected);
  ASSERT_EQ(master_->agents().at(silent).state, AgentState::kUnreachable);
  master_->SetPaused(true);
  Advance(absl::Hours(2));  // past the failover timeout and the agent's gone timeout
  master_->SetPaused(false);
  EXPECT_TRUE(master_->frameworks().contains(fw));
  EXPECT_EQ(master_->agents().at(silent).state, AgentState::kUnreachable);
  EXPECT_EQ(Subscribe("fw1-again", "*", fw, absl::Seconds(30)), fw);  // queued while paused, read now
  Advance(absl::Seconds(5));
  ASSERT_TRUE(master_->frameworks().contains(fw));
  EXPECT_EQ(master_->frameworks().at(fw).tasks.size(), 1u);
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::KILL_TASK), 0u);
  // Nothing came back for agent2: gone once the master could decide again.
  EXPECT_EQ(master_->agents().at(silent).state, AgentState::kGone);
}

// A launch sent to an agent process that died before it got it: the agent,
// restarted (a new connection), re-registers without the task, which is lost
// at once (it had stayed STAGING for ever). Re-registering on the same
// connection, the launch may still be on its way and is kept.
TEST_F(MasterTest, ALaunchSentToAnAgentProcessThatDiedIsLostWhenItsSuccessorReregisters) {
  const std::string agent = RegisterAgent("agent1");
  const std::string fw = SubscribeAndLaunch("fw1", "t1");
  ASSERT_EQ(transport_.Count("agent1", wire::Envelope::RUN_TASK), 1u);  // never handled
  auto reregister = [&](const PeerId& peer) {
    WireMessage msg;
    auto reg = NewEnvelope(msg, 1).initRegisterAgent();
    reg.setAgentId(agent);
    reg.setHostname("host-agent1");
    ToWire(*Resources::Parse("cpus:4;mem:4096"), reg.initResources());
    ASSERT_TRUE(Deliver(peer, msg).ok());
  };
  reregister("agent1");  // the same process (after a master restart, say)
  EXPECT_TRUE(TakeUpdates("fw1").empty());
  reregister("agent1-restarted");
  auto updates = TakeUpdates("fw1");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].task_id, "t1");
  EXPECT_EQ(updates[0].state, TaskState::kLost);
}

TEST_F(MasterTest, FrameworkResubscribingWithItsIdKeepsItsTasks) {
  RegisterAgent("agent1");
  const std::string fw = SubscribeAndLaunch("fw1", "t1", absl::Seconds(30));
  Silence("fw1");
  Advance(absl::Seconds(6));
  EXPECT_EQ(master_->frameworks().at(fw).state, FrameworkState::kDisconnected);
  EXPECT_EQ(Subscribe("fw1-new-connection", "*", fw, absl::Seconds(30)), fw);
  Advance(absl::Seconds(40));
  ASSERT_TRUE(master_->frameworks().contains(fw));
  EXPECT_EQ(master_->frameworks().at(fw).tasks.size(), 1u);
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::KILL_TASK), 0u);
}

TEST_F(MasterTest, RestartedMasterRebuildsTasksFromReregisteringAgents) {
  const std::string a1 = RegisterAgent("agent1");
  const std::string fw = Subscribe("fw1");
  Restart();
  // The agent's heartbeat reaches a master that does not know it.
  Heartbeat("agent1", a1);
  EXPECT_EQ(transport_.Count("agent1", wire::Envelope::REREGISTER_AGENT), 1u);
  Reregister("agent1", a1, fw, Task("t1", 1, 512), wire::TaskState::RUNNING);
  ASSERT_TRUE(master_->agents().contains(a1));
  EXPECT_EQ(master_->agents().at(a1).used, Resources::Scalars(1, 512, 0));
  // The framework comes back with its id and finds its task.
  EXPECT_EQ(Subscribe("fw1", "*", fw), fw);
  EXPECT_EQ(master_->frameworks().at(fw).tasks.size(), 1u);
  Settle();
  auto offers = TakeOffers("fw1");
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].resources, Resources::Scalars(3, 3584, 0));
}

TEST_F(MasterTest, OperatorKillFindsTheTaskOrSaysWhyNot) {
  // Two agents, two frameworks: one pass offers each framework one agent.
  RegisterAgent("agent1");
  RegisterAgent("agent2");
  const std::string fw1 = Subscribe("fw1");
  const std::string fw2 = Subscribe("fw2");
  Settle();
  // Both launch a task named "web".
  for (const auto& [peer, fw] : {std::pair{"fw1", fw1}, std::pair{"fw2", fw2}}) {
    auto offers = TakeOffers(peer);
    ASSERT_EQ(offers.size(), 1u) << peer;
    Accept(peer, fw, {offers[0].id}, {Task("web", 1, 1)});
  }
  transport_.Clear();
  auto kill = [&](const std::string& task, const std::string& fw) {
    WireMessage msg;
    auto k = NewEnvelope(msg, 4).initOperatorKill();
    k.setTaskId(task);
    k.setFrameworkId(fw);
    EXPECT_TRUE(Deliver("operator", msg).ok());
    auto errors = TakeErrors("operator");
    return errors.empty() ? std::string("ok") : errors[0];
  };
  EXPECT_NE(kill("web", "").find("used by frameworks"), std::string::npos);
  EXPECT_NE(kill("nope", "").find("no task 'nope'"), std::string::npos);
  const std::string fw2_agent_peer =
      master_->agents().at(master_->tasks().at(TaskKey{fw2, "web"}).agent_id).peer;
  EXPECT_EQ(transport_.Count(fw2_agent_peer, wire::Envelope::KILL_TASK), 0u);
  EXPECT_EQ(kill("web", fw2), "ok");
  auto kills = transport_.Take(fw2_agent_peer, wire::Envelope::KILL_TASK);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(std::string(kills[0]->env().getKillTask().getFrameworkId()), fw2);
  EXPECT_TRUE(master_->tasks().at(TaskKey{fw2, "web"}).kill_requested);
  EXPECT_FALSE(master_->tasks().at(TaskKey{fw1, "web"}).kill_requested);
}

TEST_F(MasterTest, OperatorQueriesAnswerJson) {
  RegisterAgent("agent1");
  for (const char* q : {"agents", "frameworks", "tasks", "offers", "roles", "stats"}) {
    EXPECT_TRUE(master_->QueryJson(q).ok()) << q;
  }
  EXPECT_FALSE(master_->QueryJson("bogus").ok());
}

TEST_F(MasterTest, AQuotaCapsWhatARoleIsOfferedAndTheRolesShowIt) {
  ASSERT_TRUE(ParseRoleQuota("capped=cpus:1.5", &options_.roles).ok());
  ASSERT_TRUE(ParseRoleWeights("capped=2", &options_.roles).ok());
  Restart();
  RegisterAgent("agent1");  // cpus:4;mem:4096
  RegisterAgent("agent2");
  const std::string fw = Subscribe("fw1", "capped");
  Settle();
  auto offers = TakeOffers("fw1");
  Resources offered;
  for (const OfferView& o : offers) offered += o.resources;
  EXPECT_DOUBLE_EQ(offered.cpus(), 1.5);  // capped
  EXPECT_GT(offered.mem(), 4096);         // mem was not named: not capped
  // Launch 1 cpu: the role holds 1, and is offered at most 0.5 more.
  ASSERT_FALSE(offers.empty());
  Accept("fw1", fw, {offers[0].id}, {Task("t1", 1, 64)});
  Settle();
  auto roles = nlohmann::json::parse(*master_->QueryJson("roles"));
  ASSERT_EQ(roles.size(), 1u) << roles;
  EXPECT_EQ(roles[0]["name"], "capped");
  EXPECT_EQ(roles[0]["weight"], 2.0);
  EXPECT_EQ(roles[0]["quota"]["cpus"], 1.5);
  EXPECT_TRUE(roles[0]["quota"]["mem"].is_null());
  EXPECT_EQ(roles[0]["frameworks"], 1);
  EXPECT_EQ(roles[0]["used"]["cpus"], 1.0);
  EXPECT_LE(roles[0]["offered"]["cpus"].get<double>(), 0.5);
}

TEST_F(MasterTest, OperatorsSetWeightsAndQuotasAtRunTimeAndBadOnesAreRefused) {
  ASSERT_TRUE(ParseRoleQuota("capped=cpus:1", &options_.roles).ok());
  Restart();
  RegisterAgent("agent1");  // cpus:4;mem:4096
  Subscribe("fw1", "capped");
  Settle();
  Resources offered;
  for (const OfferView& o : TakeOffers("fw1")) offered += o.resources;
  EXPECT_DOUBLE_EQ(offered.cpus(), 1);
  auto set_role = [&](const std::string& role, double weight, wire::OperatorRole::QuotaAction action,
                      const std::string& limit = "") {
    WireMessage msg;
    auto op = NewEnvelope(msg, 40).initOperatorRole();
    op.setRole(role);
    op.setWeight(weight);
    op.setQuota(action);
    if (!limit.empty()) ToWire(*Resources::Parse(limit), op.initLimit());
    EXPECT_TRUE(Deliver("op", msg).ok());
    auto errors = TakeErrors("op");
    return errors.empty() ? std::string("ok") : errors[0];
  };
  using Q = wire::OperatorRole::QuotaAction;
  EXPECT_EQ(set_role("capped", 0, Q::REMOVE), "ok");
  EXPECT_EQ(set_role("batch", 2.5, Q::SET, "cpus:3;mem:100"), "ok");
  auto roles = nlohmann::json::parse(*master_->QueryJson("roles"));
  ASSERT_EQ(roles.size(), 2u) << roles;
  EXPECT_EQ(roles[0]["name"], "batch");
  EXPECT_EQ(roles[0]["weight"], 2.5);
  EXPECT_EQ(roles[0]["quota"]["cpus"], 3.0);
  EXPECT_TRUE(roles[1]["quota"].is_null());  // capped: cap removed
  // The cap is gone: the rest of the agent is offered (the first offer's
  // cpu is still out with fw1).
  Advance(absl::Seconds(1));
  offered = Resources();
  for (const OfferView& o : TakeOffers("fw1")) offered += o.resources;
  EXPECT_DOUBLE_EQ(offered.cpus(), 3);

  EXPECT_EQ(set_role("../x", 1, Q::KEEP), "role '../x' may not hold '/' or control characters");
  EXPECT_NE(set_role("web", -1, Q::KEEP).find("must be a positive number, not -1"), std::string::npos);
  EXPECT_NE(set_role("web", std::nan(""), Q::KEEP).find("must be a positive number"), std::string::npos);
  EXPECT_NE(set_role("web", 0, Q::SET, "ports:[1000-1001]").find("ports cannot be capped"),
            std::string::npos);
  EXPECT_NE(set_role("web", 0, Q::SET).find("cap cpus, mem or disk"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(*master_->QueryJson("roles")).size(), 2u);  // nothing changed
}

TEST(RoleOptionsTest, ParsesWeightsAndQuotasAndNamesWhatIsWrong) {
  RoleOptions roles;
  ASSERT_TRUE(ParseRoleWeights("services=3, batch=0.5", &roles).ok());
  EXPECT_EQ(roles.weights, (std::map<std::string, double>{{"batch", 0.5}, {"services", 3}}));
  ASSERT_TRUE(ParseRoleQuota("services=cpus:8;mem:16384", &roles).ok());
  const Resources& cap = roles.quotas.at("services");
  EXPECT_EQ(cap.cpus(), 8);
  EXPECT_EQ(cap.mem(), 16384);
  EXPECT_EQ(cap.disk(), Resources::kMaxScalar);  // not named: not capped
  EXPECT_TRUE(ParseRoleWeights("", &roles).ok());
  for (const auto& [bad, message] : std::vector<std::pair<std::string, std::string>>{
           {"web", "'web' is not ROLE=VALUE"},
           {"web=0", "the weight of role 'web' must be a positive number, not 0"},
           {"web=lots", "not 'lots'"},
           {"a/b=1", "--weights role"},
           {"x=1,x=2", "role 'x' is given twice"}}) {
    RoleOptions r;
    absl::Status s = ParseRoleWeights(bad, &r);
    EXPECT_NE(s.message().find(message), std::string::npos) << bad << ": " << s;
  }
  for (const auto& [bad, message] : std::vector<std::pair<std::string, std::string>>{
           {"web=cpus:lots", "--quota web:"},
           {"web=ports:[1000-2000]", "only cpus, mem and disk"},
           {"services=cpus:1", "role 'services' is given twice"},
           {"=cpus:1", "--quota role"}}) {
    absl::Status s = ParseRoleQuota(bad, &roles);
    EXPECT_NE(s.message().find(message), std::string::npos) << bad << ": " << s;
  }
}

}  // namespace
}  // namespace agora::master

namespace agora::master {
namespace {

TEST_F(MasterTest, FrameworkNamesThatCouldNameAPathAreRejected) {
  for (const std::string name : {"../../etc", "a/b", ".."}) {
    WireMessage msg;
    auto sub = NewEnvelope(msg, 9).initSubscribe();
    sub.setName(name);
    ASSERT_TRUE(Deliver("fw", msg).ok());
    auto errors = transport_.Take("fw", W::ERROR);
    ASSERT_EQ(errors.size(), 1u) << name;
    EXPECT_NE(std::string(errors[0]->env().getError().getMessage()).find("framework name"),
              std::string::npos);
  }
  EXPECT_TRUE(master_->frameworks().empty());
}

// A secured master: what each kind of key may do. The handshake itself is
// covered by CurveTest and the integration tests; here the principals come
// as the transport would report them.
class SecuredMasterTest : public MasterTest {
 protected:
  void SetUp() override {
    auto principal = [](std::string name, CurvePrincipal::Kind kind, std::vector<std::string> roles) {
      CurvePrincipal p;
      p.name = std::move(name);
      p.kind = kind;
      p.roles = std::move(roles);
      return p;
    };
    options_.secured = true;
    options_.principals = {principal("agent-key", CurvePrincipal::Kind::kAgent, {"*"}),
                           principal("other-agent-key", CurvePrincipal::Kind::kAgent, {"*"}),
                           principal("batch-key", CurvePrincipal::Kind::kFramework, {"batch"}),
                           principal("other-batch-key", CurvePrincipal::Kind::kFramework, {"batch"}),
                           principal("ops-key", CurvePrincipal::Kind::kOperator, {"*"})};
    principal_of_ = {{"agent1", "agent-key"}, {"agent2", "other-agent-key"},
                     {"fw1", "batch-key"},    {"fw2", "other-batch-key"},
                     {"ops", "ops-key"}};
    Restart();
  }
  std::string LastError(const PeerId& peer) {
    auto errors = transport_.Take(peer, W::ERROR);
    if (errors.empty()) return "";
    EXPECT_EQ(errors.back()->env().getError().getCode(), wire::ErrorCode::PERMISSION_DENIED);
    return errors.back()->env().getError().getMessage();
  }
};

TEST_F(SecuredMasterTest, EachKeyActsOnlyAsWhatItIs) {
  const std::string agent_id = RegisterAgent("agent1");
  ASSERT_FALSE(agent_id.empty());
  // A framework key cannot register an agent; an agent key cannot subscribe.
  principal_of_["fw-as-agent"] = "batch-key";
  WireMessage reg;
  auto r = NewEnvelope(reg, 1).initRegisterAgent();
  r.setHostname("sneaky");
  ToWire(*Resources::Parse("cpus:1;mem:1"), r.initResources());
  ASSERT_TRUE(Deliver("fw-as-agent", reg).ok());
  EXPECT_NE(LastError("fw-as-agent").find("may not act as an agent"), std::string::npos);
  EXPECT_EQ(master_->agents().size(), 1u);

  WireMessage sub;
  NewEnvelope(sub, 2).initSubscribe().setName("x");
  ASSERT_TRUE(Deliver("agent1", sub).ok());
  EXPECT_NE(LastError("agent1").find("may not act as a framework"), std::string::npos);

  // A framework key subscribes with its roles only.
  WireMessage wrong_role;
  auto w = NewEnvelope(wrong_role, 3).initSubscribe();
  w.setName("fw");
  w.setRole("services");
  ASSERT_TRUE(Deliver("fw1", wrong_role).ok());
  EXPECT_NE(LastError("fw1").find("roles batch only, not 'services'"), std::string::npos);
  const std::string fw = Subscribe("fw1", "batch");
  ASSERT_FALSE(fw.empty());

  // Another key cannot take over the framework's id, nor another agent's.
  WireMessage hijack;
  auto h = NewEnvelope(hijack, 4).initSubscribe();
  h.setName("fw");
  h.setRole("batch");
  h.setFrameworkId(fw);
  ASSERT_TRUE(Deliver("fw2", hijack).ok());
  EXPECT_NE(LastError("fw2").find("belongs to key 'batch-key'"), std::string::npos);
  WireMessage beat;
  NewEnvelope(beat).initAgentHeartbeat().setAgentId(agent_id);
  ASSERT_TRUE(Deliver("agent2", beat).ok());
  EXPECT_NE(LastError("agent2").find("was registered by key 'agent-key'"), std::string::npos);

  // Only an operator key changes state; any admitted key may look.
  WireMessage kill;
  NewEnvelope(kill, 5).initOperatorKill().setTaskId("t1");
  ASSERT_TRUE(Deliver("fw1", kill).ok());
  EXPECT_NE(LastError("fw1").find("takes an operator key"), std::string::npos);
  WireMessage role;
  NewEnvelope(role, 8).initOperatorRole().setRole("batch");
  role.getRoot<wire::Envelope>().getOperatorRole().setWeight(100);
  ASSERT_TRUE(Deliver("fw1", role).ok());  // a framework may not raise its own share
  EXPECT_NE(LastError("fw1").find("or set roles: that takes an operator key"), std::string::npos);
  ASSERT_TRUE(Deliver("ops", kill).ok());
  auto not_found = transport_.Take("ops", W::ERROR);  // past the check: no such task
  ASSERT_EQ(not_found.size(), 1u);
  EXPECT_EQ(not_found[0]->env().getError().getCode(), wire::ErrorCode::NOT_FOUND);
  WireMessage query;
  NewEnvelope(query, 6).initOperatorQuery().setQuery("agents");
  ASSERT_TRUE(Deliver("fw1", query).ok());
  EXPECT_EQ(transport_.Take("fw1", W::OPERATOR_REPLY).size(), 1u);

  // A connection no key vouches for may do nothing.
  WireMessage anon;
  NewEnvelope(anon, 7).initOperatorQuery().setQuery("agents");
  ASSERT_TRUE(Deliver("nobody", anon).ok());
  EXPECT_NE(LastError("nobody").find("not authenticated"), std::string::npos);
  EXPECT_EQ(master_->stats().permission_denied, 8u);
}

}  // namespace
}  // namespace agora::master

namespace agora::master {
namespace {

// Found by the master's fuzzer: a hostname that is not UTF-8 made every
// listing throw (nlohmann::json) and ended the master.
TEST_F(MasterTest, NamesThatAreNotUtf8DoNotBreakTheListings) {
  RegisterAgent("agent1");
  WireMessage msg;
  auto reg = NewEnvelope(msg, 1).initRegisterAgent();
  reg.setHostname(std::string("host-\xa0\xff", 7));
  ToWire(*Resources::Parse("cpus:1;mem:64"), reg.initResources());
  ASSERT_TRUE(Deliver("agent2", msg).ok());
  for (const char* query : {"agents", "tasks", "frameworks", "offers", "stats", "security"}) {
    auto json = master_->QueryJson(query);
    ASSERT_TRUE(json.ok()) << query;
    EXPECT_FALSE(json->empty());
  }
  EXPECT_NE(master_->QueryJson("agents")->find("host-\xef\xbf\xbd"), std::string::npos);  // U+FFFD
  EXPECT_FALSE(master_->StateJson().empty());
}

}  // namespace
}  // namespace agora::master

namespace agora::master {
namespace {

TEST_F(MasterTest, AnAgentsHostileDescriptionIsRefused) {
  for (int variant = 0; variant < 4; ++variant) {
    WireMessage msg;
    auto reg = NewEnvelope(msg, 1).initRegisterAgent();
    reg.setHostname(variant == 0 ? std::string(300000, 'a') : "host");
    ToWire(*Resources::Parse("cpus:4;mem:4096"), reg.initResources());
    if (variant == 1) reg.getResources().setCpus(std::nan(""));
    if (variant == 2) {
      auto attrs = reg.initAttributes(1);
      attrs[0].setKey("zone");
      attrs[0].setValue(std::string(100000, 'z'));
    }
    if (variant == 3) {  // control characters behind a NUL
      const std::string value("rack1\0\x1b]52;x", 13);
      auto attrs = reg.initAttributes(1);
      attrs[0].setKey("rack");
      attrs[0].setValue(capnp::Text::Reader(value.data(), value.size()));
    }
    ASSERT_TRUE(Deliver("hostile", msg).ok());
    EXPECT_TRUE(transport_.Take("hostile", W::AGENT_REGISTERED).empty()) << variant;
    auto errors = TakeErrors("hostile");
    ASSERT_EQ(errors.size(), 1u) << variant;
    EXPECT_THAT(errors[0], ::testing::HasSubstr("register agent: ")) << errors[0];
  }
  EXPECT_FALSE(RegisterAgent("fine").empty());  // and the master goes on
}

TEST_F(MasterTest, LaunchesWithNonFiniteResourcesOrOversizedCommandsAreRefused) {
  RegisterAgent("agent");
  const std::string fw = Subscribe("fw");
  Settle();
  for (int variant = 0; variant < 3; ++variant) {
    auto offers = TakeOffers("fw");
    ASSERT_FALSE(offers.empty()) << variant;
    TaskSpec task = Task(absl::StrCat("t", variant), 1, 1);
    if (variant == 1) task.command = std::string(kMaxCommandBytes + 1, 'x');
    if (variant == 2) {
      task.health_check.kind = HealthCheck::Kind::kCommand;
      task.health_check.command = "true";
      task.health_check.interval = absl::Nanoseconds(1);
    }
    WireMessage msg;
    auto accept = NewEnvelope(msg, 9).initAccept();
    accept.setFrameworkId(fw);
    accept.initOfferIds(1).set(0, offers[0].id);
    ToWire(task, accept.initTasks(1)[0]);
    if (variant == 0) accept.getTasks()[0].getResources().setCpus(std::nan(""));
    ASSERT_TRUE(Deliver("fw", msg).ok());
    auto errors = TakeErrors("fw");
    ASSERT_EQ(errors.size(), 1u) << variant;
    EXPECT_THAT(errors[0], ::testing::AnyOf(::testing::HasSubstr("is not a number"),
                                            ::testing::HasSubstr("at most"),
                                            ::testing::HasSubstr("at least")))
        << errors[0];
    Advance(absl::Seconds(6));  // the declined offer's filter passes
  }
}

}  // namespace
}  // namespace agora::master
