// Master: status updates, acknowledgements, kills and reconciliation.
#include <capnp/message.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/framing.h"
#include "common/log.h"
#include "common/wire_convert.h"
#include "master/master.h"

namespace agora::master {

void Master::OnUsageReport(const PeerId& peer, wire::UsageReport::Reader msg) {
  AgentRecord* agent = AgentFromPeer(peer, msg.getAgentId());
  if (agent == nullptr || agent->state == AgentState::kUnreachable) return;  // a sample: drop it
  ++stats_.usage_reports;
  absl::flat_hash_map<FrameworkId, std::vector<const TaskUsage*>> by_framework;
  std::vector<TaskUsage> usages;
  usages.reserve(msg.getUsages().size());
  for (auto u : msg.getUsages()) {
    auto task = tasks_.find(TaskKey{u.getFrameworkId(), u.getTaskId()});
    if (task == tasks_.end() || task->second.agent_id != agent->id || IsTerminal(task->second.state)) {
      ++stats_.usage_unknown_tasks;
      continue;
    }
    task->second.usage = TaskUsage{task->second.framework_id, task->second.spec.task_id, u.getCpusUsed(),
                                   u.getMemBytes()};
    usages.push_back(*task->second.usage);
  }
  for (const TaskUsage& u : usages) by_framework[u.framework_id].push_back(&u);
  for (const auto& [fw_id, list] : by_framework) {
    auto fw = frameworks_.find(fw_id);
    if (fw == frameworks_.end() || fw->second.state != FrameworkState::kActive) continue;
    WireMessage out;
    auto report = NewEnvelope(out).initUsageReport();
    report.setAgentId(agent->id);
    auto wire_list = report.initUsages(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      wire_list[i].setFrameworkId(fw_id);
      wire_list[i].setTaskId(list[i]->task_id);
      wire_list[i].setCpusUsed(list[i]->cpus);
      wire_list[i].setMemBytes(list[i]->mem_bytes);
    }
    transport_.Send(fw->second.peer, out);
  }
}

void Master::OnStatusUpdate(const PeerId& peer, wire::StatusUpdate::Reader msg) {
  ++stats_.status_updates;
  TaskStatus status = FromWire(msg.getStatus());
  AgentRecord* agent = AgentFromPeer(peer, status.agent_id);
  if (agent == nullptr || agent->state == AgentState::kUnreachable) {
    // Unknown to us (master restart) or back from a partition: the update
    // will be resent after the agent re-registers.
    WireMessage out;
    NewEnvelope(out).initReregisterAgent().setAgentId(status.agent_id);
    transport_.Send(peer, out);
    return;
  }
  agent->peer = peer;
  const TaskKey key{status.framework_id, status.task_id};
  auto task = tasks_.find(key);
  if (task != tasks_.end() && task->second.agent_id == agent->id) {
    UpdateTask(task->second, status);
    task->second.latest_uuid = status.uuid;
  }
  auto fw = frameworks_.find(status.framework_id);
  if (fw != frameworks_.end()) {
    // Forward; a disconnected framework gets it when the agent resends.
    ForwardUpdate(fw->second, status);
    return;
  }
  if (removed_frameworks_.contains(status.framework_id) && !status.uuid.empty()) {
    // Nobody will acknowledge: do it for the removed framework.
    WireMessage ack;
    auto a = NewEnvelope(ack).initAcknowledge();
    a.setFrameworkId(status.framework_id);
    a.setAgentId(agent->id);
    a.setTaskId(status.task_id);
    a.setUuid(status.uuid);
    transport_.Send(agent->peer, ack);
    if (task != tasks_.end() && IsTerminal(task->second.state)) ForgetTask(key);
  }
}

void Master::UpdateTask(TaskRecord& task, const TaskStatus& status) {
  if (IsTerminal(task.state)) return;  // terminal states are final
  if (status.state == TaskState::kRunning &&
      (task.state == TaskState::kStaging || task.state == TaskState::kStarting)) {
    latencies_.launch_to_running.Observe(loop_.Now() - task.launched_at);
  }
  task.state = status.state;
  task.message = status.message;
  task.reason = status.reason;
  task.exit_code = status.exit_code;
  task.healthy = status.healthy;
  task.updated_at = loop_.Now();
  if (IsTerminal(status.state)) {
    FreeTaskResources(task);
    if (auto agent = agents_.find(task.agent_id); agent != agents_.end()) MaybeDrained(agent->second);
  }
}

void Master::FreeTaskResources(const TaskRecord& task) {
  auto agent = agents_.find(task.agent_id);
  if (agent == agents_.end()) return;
  agent->second.used -= task.spec.resources;
  // A no-op in the allocator when the agent is not in it (unreachable).
  allocator_->Recover(task.framework_id, task.agent_id, task.spec.resources);
  RequestAllocation();
}

void Master::ForwardUpdate(const FrameworkRecord& fw, const TaskStatus& status) {
  if (fw.state != FrameworkState::kActive) return;
  WireMessage msg;
  ToWire(status, NewEnvelope(msg).initStatusUpdate().initStatus());
  transport_.Send(fw.peer, msg);
}

void Master::SendMasterUpdate(const TaskRecord& task, TaskState state, absl::string_view message,
                              absl::string_view reason) {
  auto fw = frameworks_.find(task.framework_id);
  if (fw == frameworks_.end()) return;
  TaskStatus status;
  status.task_id = task.spec.task_id;
  status.framework_id = task.framework_id;
  status.agent_id = task.agent_id;
  status.state = state;
  status.message = std::string(message);
  status.reason = std::string(reason);
  status.exit_code = task.exit_code;
  status.healthy = task.healthy;
  status.timestamp = loop_.Now();
  ForwardUpdate(fw->second, status);
}

void Master::OnAcknowledge(const PeerId& peer, uint64_t rid, wire::Acknowledge::Reader msg) {
  FrameworkRecord* fw = AuthorizedFramework(peer, rid, msg.getFrameworkId());
  if (fw == nullptr) return;
  const AgentId agent_id = msg.getAgentId();
  auto agent = agents_.find(agent_id);
  if (agent == agents_.end() || agent->second.state == AgentState::kGone) {
    return SendError(peer, rid, wire::ErrorCode::UNKNOWN_AGENT,
                     absl::StrCat("acknowledge: unknown agent '", agent_id, "'"));
  }
  const std::string uuid = msg.getUuid();
  if (uuid.empty()) {
    return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT,
                     "acknowledge: the update has no uuid (master-generated updates need none)");
  }
  WireMessage out;
  auto ack = NewEnvelope(out).initAcknowledge();
  ack.setFrameworkId(fw->id);
  ack.setAgentId(agent_id);
  ack.setTaskId(msg.getTaskId());
  ack.setUuid(uuid);
  transport_.Send(agent->second.peer, out);

  const TaskKey key{fw->id, msg.getTaskId()};
  auto task = tasks_.find(key);
  if (task != tasks_.end() && IsTerminal(task->second.state) && task->second.latest_uuid == uuid) {
    ForgetTask(key);
  }
  SendOk(peer, rid);
}

void Master::OnKill(const PeerId& peer, uint64_t rid, wire::KillTask::Reader msg) {
  FrameworkRecord* fw = AuthorizedFramework(peer, rid, msg.getFrameworkId());
  if (fw == nullptr) return;
  const TaskKey key{fw->id, msg.getTaskId()};
  auto it = tasks_.find(key);
  if (it == tasks_.end()) {
    return SendError(peer, rid, wire::ErrorCode::NOT_FOUND,
                     absl::StrCat("kill: framework ", fw->id, " has no task '", key.task_id, "'"));
  }
  TaskRecord& task = it->second;
  if (!IsTerminal(task.state)) {
    task.kill_requested = true;  // resent when an unreachable agent returns
    SendKillToAgent(task);
  }
  SendOk(peer, rid);
}

void Master::OnOperatorKill(const PeerId& peer, uint64_t rid, wire::OperatorKill::Reader msg) {
  const std::string task_id = msg.getTaskId();
  const std::string framework_id = msg.getFrameworkId();
  std::vector<TaskRecord*> matches;
  for (auto& [key, task] : tasks_) {
    if (key.task_id == task_id && (framework_id.empty() || key.framework_id == framework_id)) {
      matches.push_back(&task);
    }
  }
  if (matches.empty()) {
    return SendError(peer, rid, wire::ErrorCode::NOT_FOUND,
                     absl::StrCat("no task '", task_id, "'",
                                  framework_id.empty() ? "" : " in framework " + framework_id));
  }
  if (matches.size() > 1) {
    std::vector<std::string> owners;
    for (const TaskRecord* t : matches) owners.push_back(t->framework_id);
    return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT,
                     absl::StrCat("task id '", task_id, "' is used by frameworks ",
                                  absl::StrJoin(owners, ", "), "; name one with --framework"));
  }
  TaskRecord& task = *matches[0];
  if (IsTerminal(task.state)) {
    return SendError(peer, rid, wire::ErrorCode::FAILED_PRECONDITION,
                     absl::StrCat("task ", task_id, " is already ", TaskStateName(task.state)));
  }
  AGORA_LOG(INFO, "master").With("task", task_id).With("framework", task.framework_id)
      << "operator kills task " << task_id << " of " << task.framework_id;
  task.kill_requested = true;
  SendKillToAgent(task);
  SendOk(peer, rid);
}

void Master::SendKillToAgent(const TaskRecord& task) {
  auto agent = agents_.find(task.agent_id);
  if (agent == agents_.end() || agent->second.state == AgentState::kUnreachable ||
      agent->second.state == AgentState::kGone) {
    return;
  }
  WireMessage msg;
  auto kill = NewEnvelope(msg).initKillTask();
  kill.setFrameworkId(task.framework_id);
  kill.setTaskId(task.spec.task_id);
  kill.setAgentId(task.agent_id);
  transport_.Send(agent->second.peer, msg);
}

void Master::OnReconcile(const PeerId& peer, uint64_t rid, wire::Reconcile::Reader msg) {
  FrameworkRecord* fw = AuthorizedFramework(peer, rid, msg.getFrameworkId());
  if (fw == nullptr) return;
  auto ids = msg.getTaskIds();
  if (ids.size() == 0) {  // implicit: every task we know
    if (!recovering_agents_.empty()) {
      parked_reconciles_.push_back({peer, rid, fw->id});
      return;
    }
    return AnswerImplicitReconcile(peer, rid, *fw);
  }
  const bool agents_settled = loop_.Now() - started_at_ >= options_.agent_reregister_timeout;
  for (auto id_text : ids) {
    TaskKey key{fw->id, id_text};
    auto t = tasks_.find(key);
    if (t != tasks_.end()) {
      SendMasterUpdate(t->second, t->second.state, t->second.message, "reconciliation");
    } else if (agents_settled) {
      // Unknown after every agent had the chance to report it: lost.
      TaskRecord unknown;
      unknown.spec.task_id = key.task_id;
      unknown.framework_id = fw->id;
      SendMasterUpdate(unknown, TaskState::kLost, "the master knows no such task",
                       "reconciliation");
    }
  }
  SendOk(peer, rid);
}

void Master::AnswerImplicitReconcile(const PeerId& peer, uint64_t rid, const FrameworkRecord& fw) {
  for (const TaskId& id : fw.tasks) {
    auto t = tasks_.find(TaskKey{fw.id, id});
    if (t == tasks_.end()) continue;
    SendMasterUpdate(t->second, t->second.state, t->second.message, "reconciliation");
  }
  SendOk(peer, rid);
}

void Master::AnswerParkedReconciles() {
  if (!recovering_agents_.empty()) return;
  for (const ParkedReconcile& p : std::exchange(parked_reconciles_, {})) {
    auto fw = frameworks_.find(p.framework_id);
    // Subscribed again since (another connection): that one asks again.
    if (fw == frameworks_.end() || fw->second.peer != p.peer) continue;
    AnswerImplicitReconcile(p.peer, p.request_id, fw->second);
  }
}

void Master::ForgetTask(const TaskKey& key) {
  auto it = tasks_.find(key);
  if (it == tasks_.end()) return;
  auto fw = frameworks_.find(key.framework_id);
  if (fw != frameworks_.end()) fw->second.tasks.erase(key.task_id);
  auto agent = agents_.find(it->second.agent_id);
  if (agent != agents_.end()) agent->second.tasks.erase(key);
  completed_tasks_.push_back(std::move(it->second));
  if (completed_tasks_.size() > kMaxCompletedTasks) completed_tasks_.pop_front();
  tasks_.erase(it);
}

}  // namespace agora::master
