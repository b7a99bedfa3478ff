// Master: agent maintenance asked for by operators (drain, undrain, gone)
// and operator teardown of a framework.
//
// Draining: the agent gets no new offers and its outstanding offers are
// rescinded; every framework with tasks there hears AgentDraining with the
// deadline, so it can move them; at the deadline the master kills what is
// left; once no task runs there the agent is `drained`. The drain (and its
// deadline) is in the registry and outlives the agent's unreachability and
// the master's restarts.
#include <capnp/message.h>

#include "absl/strings/str_cat.h"
#include "common/framing.h"
#include "common/log.h"
#include "master/master.h"

namespace agora::master {

AgentRecord* Master::FindAgent(const std::string& id_or_hostname) {
  if (auto it = agents_.find(id_or_hostname); it != agents_.end()) return &it->second;
  AgentRecord* found = nullptr;
  for (auto& [id, a] : agents_) {
    if (a.hostname != id_or_hostname || a.state == AgentState::kGone) continue;
    if (found != nullptr) return nullptr;  // ambiguous: ask for the id
    found = &a;
  }
  return found;
}

void Master::OnOperatorAgent(const PeerId& peer, uint64_t rid, wire::OperatorAgent::Reader msg) {
  const std::string which = msg.getAgent();
  AgentRecord* agent = FindAgent(which);
  if (agent == nullptr) {
    return SendError(peer, rid, wire::ErrorCode::NOT_FOUND,
                     absl::StrCat("no agent '", which, "' (or more than one with that hostname: use its id)"));
  }
  if (agent->state == AgentState::kGone) {
    return SendError(peer, rid, wire::ErrorCode::FAILED_PRECONDITION, absl::StrCat("agent ", agent->id, " is gone"));
  }
  switch (msg.getAction()) {
    case wire::OperatorAgent::Action::DRAIN: {
      const uint64_t ms = msg.getDeadlineMs();
      StartDrain(*agent, ms == 0 ? absl::InfiniteFuture() : loop_.Now() + absl::Milliseconds(ms));
      return SendOk(peer, rid);
    }
    case wire::OperatorAgent::Action::UNDRAIN:
      if (agent->drain_deadline == absl::InfinitePast()) {
        return SendError(peer, rid, wire::ErrorCode::FAILED_PRECONDITION,
                         absl::StrCat("agent ", agent->id, " is not draining"));
      }
      loop_.Cancel(agent->drain_timer);
      agent->drain_timer = 0;
      agent->drain_deadline = absl::InfinitePast();
      if (agent->state == AgentState::kDraining || agent->state == AgentState::kDrained) {
        agent->state = AgentState::kActive;
        allocator_->SetAgentAllocatable(agent->id, true);
        RequestAllocation();
      }
      PersistAgent(*agent);
      AGORA_LOG(INFO, "master") << "agent " << agent->id << " is back in service";
      return SendOk(peer, rid);
    case wire::OperatorAgent::Action::GONE: {
      if (agent->state != AgentState::kUnreachable && agent->state != AgentState::kDrained) {
        return SendError(peer, rid, wire::ErrorCode::FAILED_PRECONDITION,
                         absl::StrCat("agent ", agent->id, " is ", AgentStateName(agent->state),
                                      "; only an unreachable or drained agent can be marked gone (drain it first)"));
      }
      if (agent->state == AgentState::kDrained) agent->state = AgentState::kUnreachable;  // as MarkAgentGone expects
      loop_.Cancel(agent->gone_timer);
      MarkAgentGone(agent->id);
      return SendOk(peer, rid);
    }
  }
  SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT, "unknown agent action");
}

void Master::StartDrain(AgentRecord& agent, absl::Time deadline) {
  agent.drain_deadline = deadline;
  loop_.Cancel(agent.drain_timer);
  agent.drain_timer = 0;
  if (deadline != absl::InfiniteFuture()) {
    agent.drain_timer = loop_.After(std::max(absl::ZeroDuration(), deadline - loop_.Now()),
                                    [this, id = agent.id] { OnDrainDeadline(id); });
  }
  if (agent.state == AgentState::kActive) agent.state = AgentState::kDraining;
  allocator_->SetAgentAllocatable(agent.id, false);
  std::vector<OfferId> offers(agent.offers.begin(), agent.offers.end());
  for (const OfferId& o : offers) RemoveOffer(o, /*notify=*/true);
  // Every framework with a task there hears it once.
  absl::flat_hash_set<FrameworkId> told;
  for (const TaskKey& key : agent.tasks) {
    auto t = tasks_.find(key);
    if (t == tasks_.end() || IsTerminal(t->second.state) || !told.insert(key.framework_id).second) continue;
    auto fw = frameworks_.find(key.framework_id);
    if (fw == frameworks_.end() || fw->second.state != FrameworkState::kActive) continue;
    WireMessage msg;
    auto draining = NewEnvelope(msg).initAgentDraining();
    draining.setAgentId(agent.id);
    draining.setDeadlineUnixMs(deadline == absl::InfiniteFuture() ? 0 : absl::ToUnixMillis(deadline));
    transport_.Send(fw->second.peer, msg);
  }
  AGORA_LOG(INFO, "master").With("agent", agent.id)
      << "draining agent " << agent.id << " (" << agent.hostname << "), deadline "
      << (deadline == absl::InfiniteFuture() ? "none" : absl::FormatTime(deadline));
  PersistAgent(agent);
  MaybeDrained(agent);
}

void Master::OnDrainDeadline(const AgentId& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return;
  AgentRecord& agent = it->second;
  agent.drain_timer = 0;
  if (agent.drain_deadline == absl::InfinitePast()) return;
  if (!MayDecide()) {
    agent.drain_timer = loop_.After(options_.heartbeat_interval, [this, id] { OnDrainDeadline(id); });
    return;
  }
  int killed = 0;
  for (const TaskKey& key : agent.tasks) {
    auto t = tasks_.find(key);
    if (t == tasks_.end() || IsTerminal(t->second.state)) continue;
    t->second.kill_requested = true;
    SendKillToAgent(t->second);
    ++killed;
  }
  AGORA_LOG(INFO, "master").With("agent", id)
      << "drain deadline of agent " << id << ": killing " << killed << " tasks left";
}

void Master::MaybeDrained(AgentRecord& agent) {
  if (agent.state != AgentState::kDraining) return;
  for (const TaskKey& key : agent.tasks) {
    auto t = tasks_.find(key);
    if (t != tasks_.end() && !IsTerminal(t->second.state)) return;
  }
  agent.state = AgentState::kDrained;
  loop_.Cancel(agent.drain_timer);
  agent.drain_timer = 0;
  PersistAgent(agent);
  AGORA_LOG(INFO, "master").With("agent", agent.id)
      << "agent " << agent.id << " (" << agent.hostname << ") is drained";
}

void Master::OnOperatorTeardown(const PeerId& peer, uint64_t rid, const FrameworkId& id) {
  auto fw = frameworks_.find(id);
  if (fw == frameworks_.end()) {
    return SendError(peer, rid, wire::ErrorCode::NOT_FOUND,
                     removed_frameworks_.contains(id) ? absl::StrCat("framework ", id, " was already torn down")
                                                      : absl::StrCat("no framework '", id, "'"));
  }
  AGORA_LOG(INFO, "master").With("framework", id)
      << "operator tears down framework " << id << " (" << fw->second.name << ")";
  RemoveFramework(id, "torn down by an operator");
  SendOk(peer, rid);
}

}  // namespace agora::master
