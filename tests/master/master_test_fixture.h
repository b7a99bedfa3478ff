// MasterTest drives a real Master through encoded messages and a fake clock:
// every message goes through Encode/Decode as on the wire, and what the
// master sends is recorded per peer.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/event_loop.h"
#include "common/framing.h"
#include "common/wire_convert.h"
#include "master/master.h"
#include "tests/mocks/recording_transport.h"

namespace agora::master {

class MasterTest : public ::testing::Test {
 protected:
  using W = wire::Envelope;

  void SetUp() override { Restart(); }

  // A new master on the same clock: what a master restart looks like.
  void Restart() {
    live_agents_.clear();
    live_frameworks_.clear();
    master_.reset();
    loop_ = std::make_unique<EventLoop>(clock_);
    transport_.Clear();
    master_ = std::make_unique<Master>(options_, *loop_, transport_, NewDrfAllocator(1),
                                       registry_.get());
    ASSERT_TRUE(master_->Start().ok());
  }

  absl::Status Deliver(const PeerId& peer, capnp::MessageBuilder& msg) {
    zmq::message_t frame = Encode(msg);
    absl::Status s =
        Decode(frame, stats_, [&](wire::Envelope::Reader env) {
          master_->Handle(peer, env, principal_of_[peer]);
        });
    master_->EndTurn();  // as the loop does after each turn
    return s;
  }

  // Advances the fake clock and runs what became due. Live agents and
  // frameworks (all registered ones, until Silence()) heartbeat every second.
  void Advance(absl::Duration d) {
    const absl::Duration step = absl::Milliseconds(10);
    for (absl::Duration t; t < d; t += step) {
      clock_.Advance(std::min(step, d - t));
      if (clock_.Now() >= next_beat_) {
        next_beat_ = clock_.Now() + absl::Seconds(1);
        for (const auto& [peer, id] : live_agents_) Heartbeat(peer, id);
        for (const auto& [peer, id] : live_frameworks_) FrameworkHeartbeat(peer, id);
        transport_.Clear(wire::Envelope::OK);
      }
      loop_->RunDueTimers();
    }
  }
  void Silence(const PeerId& peer) {
    live_agents_.erase(peer);
    live_frameworks_.erase(peer);
  }

  void FrameworkHeartbeat(const PeerId& peer, const std::string& id) {
    WireMessage msg;
    NewEnvelope(msg, 77).initFrameworkHeartbeat().setFrameworkId(id);
    ASSERT_TRUE(Deliver(peer, msg).ok());
  }
  void Settle() { Advance(absl::Milliseconds(1)); }

  std::string RegisterAgent(const PeerId& peer, const std::string& resources = "cpus:4;mem:4096",
                            const std::string& id = "") {
    WireMessage msg;
    auto reg = NewEnvelope(msg, 1).initRegisterAgent();
    reg.setAgentId(id);
    reg.setHostname("host-" + peer);
    ToWire(*Resources::Parse(resources), reg.initResources());
    EXPECT_TRUE(Deliver(peer, msg).ok());
    auto replies = transport_.Take(peer, W::AGENT_REGISTERED);
    EXPECT_EQ(replies.size(), 1u);
    if (replies.empty()) return "";
    std::string agent_id = replies[0]->env().getAgentRegistered().getAgentId();
    live_agents_[peer] = agent_id;
    return agent_id;
  }

  // An agent re-registers with its id and one task in `state`.
  void Reregister(const PeerId& peer, const std::string& agent_id, const std::string& fw,
                  const TaskSpec& task, wire::TaskState state) {
    WireMessage msg;
    auto reg = NewEnvelope(msg, 1).initRegisterAgent();
    reg.setAgentId(agent_id);
    reg.setHostname("host-" + peer);
    ToWire(*Resources::Parse("cpus:4;mem:4096"), reg.initResources());
    auto tasks = reg.initTasks(1);
    tasks[0].setFrameworkId(fw);
    ToWire(task, tasks[0].initSpec());
    tasks[0].setState(state);
    ASSERT_TRUE(Deliver(peer, msg).ok());
  }

  void Heartbeat(const PeerId& peer, const std::string& agent_id) {
    WireMessage msg;
    NewEnvelope(msg).initAgentHeartbeat().setAgentId(agent_id);
    ASSERT_TRUE(Deliver(peer, msg).ok());
  }

  std::string Subscribe(const PeerId& peer, const std::string& role = "*",
                        const std::string& id = "",
                        absl::Duration failover = absl::Hours(1)) {
    WireMessage msg;
    auto sub = NewEnvelope(msg, 2).initSubscribe();
    sub.setFrameworkId(id);
    sub.setName("fw-" + peer);
    sub.setRole(role);
    sub.setFailoverTimeoutMs(absl::ToInt64Milliseconds(failover));
    EXPECT_TRUE(Deliver(peer, msg).ok());
    auto replies = transport_.Take(peer, W::SUBSCRIBED);
    EXPECT_EQ(replies.size(), 1u);
    if (replies.empty()) return "";
    std::string framework_id = replies[0]->env().getSubscribed().getFrameworkId();
    live_frameworks_[peer] = framework_id;
    return framework_id;
  }

  // Subscribes a framework and launches one task (1 cpu, 1 MiB) on the first
  // offer it gets; returns the framework id.
  std::string SubscribeAndLaunch(const PeerId& peer, const std::string& task,
                                 absl::Duration failover = absl::Hours(1)) {
    const std::string fw = Subscribe(peer, "*", "", failover);
    Settle();
    auto offers = TakeOffers(peer);
    EXPECT_FALSE(offers.empty());
    if (!offers.empty()) Accept(peer, fw, {offers[0].id}, {Task(task, 1, 1)});
    return fw;
  }

  struct OfferView {
    std::string id, agent_id;
    Resources resources;
  };
  std::vector<OfferView> TakeOffers(const PeerId& peer) {
    std::vector<OfferView> out;
    for (auto& m : transport_.Take(peer, W::OFFERS)) {
      for (auto o : m->env().getOffers().getOffers()) {
        out.push_back({o.getOfferId(), o.getAgentId(), FromWire(o.getResources())});
      }
    }
    return out;
  }

  // Accepts `offer_ids` launching one task per spec "id:cpus:mem".
  void Accept(const PeerId& peer, const std::string& fw, const std::vector<std::string>& offer_ids,
              const std::vector<TaskSpec>& tasks, uint64_t rid = 9) {
    WireMessage msg;
    auto accept = NewEnvelope(msg, rid).initAccept();
    accept.setFrameworkId(fw);
    auto ids = accept.initOfferIds(offer_ids.size());
    for (size_t i = 0; i < offer_ids.size(); ++i) ids.set(i, offer_ids[i]);
    auto list = accept.initTasks(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) ToWire(tasks[i], list[i]);
    accept.setRefuseSeconds(-1);
    ASSERT_TRUE(Deliver(peer, msg).ok());
  }

  static TaskSpec Task(const std::string& id, double cpus, double mem) {
    TaskSpec t;
    t.task_id = id;
    t.command = "true";
    t.resources = Resources::Scalars(cpus, mem, 0);
    return t;
  }

  void AgentUpdate(const PeerId& agent_peer, const std::string& agent_id, const std::string& fw,
                   const std::string& task, TaskState state, const std::string& uuid) {
    WireMessage msg;
    TaskStatus s;
    s.task_id = task;
    s.framework_id = fw;
    s.agent_id = agent_id;
    s.state = state;
    s.uuid = uuid;
    ToWire(s, NewEnvelope(msg).initStatusUpdate().initStatus());
    ASSERT_TRUE(Deliver(agent_peer, msg).ok());
  }

  std::vector<TaskStatus> TakeUpdates(const PeerId& peer) {
    std::vector<TaskStatus> out;
    for (auto& m : transport_.Take(peer, W::STATUS_UPDATE)) {
      out.push_back(FromWire(m->env().getStatusUpdate().getStatus()));
    }
    return out;
  }

  std::vector<std::string> TakeErrors(const PeerId& peer) {
    std::vector<std::string> out;
    for (auto& m : transport_.Take(peer, W::ERROR)) out.emplace_back(m->env().getError().getMessage());
    return out;
  }

  MasterOptions options_;
  std::unique_ptr<Registry> registry_;  // set by tests that persist
  FakeClock clock_;
  std::unique_ptr<EventLoop> loop_;
  testing::RecordingTransport transport_;
  std::unique_ptr<Master> master_;
  FrameStats stats_;
  // The authenticated key each peer speaks with (a secured master); none: "".
  std::map<PeerId, std::string> principal_of_;
  std::map<PeerId, std::string> live_agents_;
  std::map<PeerId, std::string> live_frameworks_;
  absl::Time next_beat_;
};

}  // namespace agora::master
