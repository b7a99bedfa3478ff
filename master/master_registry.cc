// Master: persistence through the Registry, and recovery after a restart.
#include <cstdlib>

#include "common/log.h"
#include "master/master.h"

namespace agora::master {

void Master::PersistAgent(const AgentRecord& agent, Durability durability) {
  if (registry_ == nullptr) return;
  RegistryAgent entry;
  entry.id = agent.id;
  entry.hostname = agent.hostname;
  entry.state = agent.state == AgentState::kGone          ? RegistryAgent::State::kGone
                : agent.state == AgentState::kUnreachable ? RegistryAgent::State::kUnreachable
                : agent.state == AgentState::kDrained     ? RegistryAgent::State::kDrained
                : agent.drain_deadline != absl::InfinitePast() ? RegistryAgent::State::kDraining
                                                          : RegistryAgent::State::kAdmitted;
  entry.since = agent.state == AgentState::kUnreachable ? agent.unreachable_since : loop_.Now();
  entry.principal = agent.principal;
  if (entry.state == RegistryAgent::State::kDraining) entry.since = agent.drain_deadline;
  registry_->PutAgent(entry);
  if (durability == Durability::kBeforeReplies) transport_.Hold();
}

void Master::PersistFramework(const FrameworkRecord& fw, bool removed) {
  if (registry_ == nullptr) return;
  registry_->PutFramework({fw.id, fw.name, fw.role, fw.failover_timeout, removed, fw.principal});
  transport_.Hold();
}

void Master::EndTurn() {
  // One commit at a time: writes made while one is under way wait in the
  // registry's buffer and go together in the next, started when it is done.
  if (registry_ == nullptr || commit_in_flight_ || !registry_->HasPendingWrites()) return;
  commit_in_flight_ = true;
  const uint64_t batch = transport_.Seal();
  const absl::Time start = absl::Now();
  registry_->CommitAsync([this, batch, start](absl::Status s) {
    if (!s.ok()) {
      AGORA_LOG(ERROR, "master") << "cannot persist the registry, exiting: " << s.message();
      if (before_exit_) before_exit_();
      std::_Exit(1);
    }
    ++stats_.registry_commits;
    latencies_.registry_commit.Observe(absl::Now() - start);
    commit_in_flight_ = false;
    transport_.Durable(batch);
    EndTurn();
  });
}

void Master::Recover(const RegistryState& state) {
  RecoverRoles(state.roles);
  for (const RegistryFramework& f : state.frameworks) {
    if (f.removed) {
      removed_frameworks_.insert(f.id);
      continue;
    }
    // Back as disconnected, and must subscribe again: it keeps its tasks
    // for --framework_resubscribe_timeout, and only then does its own
    // failover timeout start (a restart is not its disconnection).
    FrameworkRecord& fw = frameworks_[f.id];
    fw.id = f.id;
    fw.name = f.name;
    fw.role = f.role;
    fw.failover_timeout = f.failover_timeout;
    fw.principal = f.principal;
    fw.subscribed_at = loop_.Now();
    fw.state = FrameworkState::kDisconnected;
    fw.disconnected_at = loop_.Now();
    allocator_->AddFramework(f.id, f.role);
    allocator_->DeactivateFramework(f.id);
    fw.failover_timer = loop_.After(options_.framework_resubscribe_timeout,
                                    [this, id = f.id] { StartFailoverTimeout(id); });
  }
  for (const RegistryAgent& a : state.agents) {
    if (a.state == RegistryAgent::State::kGone) {
      AgentRecord& agent = agents_[a.id];
      agent.id = a.id;
      agent.hostname = a.hostname;
      agent.state = AgentState::kGone;
      ++gone_agents_;
      continue;
    }
    recovering_agents_[a.id] = a;
  }
  AGORA_LOG(INFO, "master") << "recovered " << state.frameworks.size() << " frameworks and "
                            << state.agents.size() << " agents from the registry";
  if (!recovering_agents_.empty()) {
    loop_.After(options_.agent_reregister_timeout, [this] { ExpireUnregisteredAgents(); });
  }
}

void Master::ExpireUnregisteredAgents() {
  if (!MayDecide()) {
    loop_.After(options_.heartbeat_interval, [this] { ExpireUnregisteredAgents(); });
    return;
  }
  // Through the mass-expiry guard, as silent agents are: if the master
  // itself is cut off after a restart, its agents must not all turn
  // unreachable (and later gone) at once.
  for (const auto& [id, entry] : recovering_agents_) deferred_expiries_.emplace_back(id, loop_.Now());
  CheckHeartbeats();
}

void Master::ExpireRecoveredAgent(const AgentId& id) {
  auto r = recovering_agents_.find(id);
  if (r == recovering_agents_.end()) return;
  const RegistryAgent entry = std::move(r->second);
  recovering_agents_.erase(r);
  AGORA_LOG(WARNING, "master").With("agent", id)
      << "agent " << id << " (" << entry.hostname << ") did not re-register after the restart";
  AgentRecord& agent = agents_[id];
  agent.id = id;
  agent.hostname = entry.hostname;
  agent.principal = entry.principal;
  // Unreachable already before the restart: since then, not since now.
  MarkAgentUnreachable(agent, entry.state == RegistryAgent::State::kUnreachable ? entry.since
                                                                                 : loop_.Now());
  AnswerParkedReconciles();
}

}  // namespace agora::master
