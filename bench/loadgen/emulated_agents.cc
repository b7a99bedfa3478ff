#include "bench/loadgen/emulated_agents.h"

#include "common/zookeeper.h"

#include <algorithm>

#include <capnp/message.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/framing.h"
#include "common/log.h"

namespace agora::loadgen {
namespace {

constexpr absl::Duration kTick = absl::Milliseconds(10);
constexpr int kRegistrationsPerTick = 2000;
constexpr absl::Duration kRegistrationRetry = absl::Seconds(5);
constexpr absl::Duration kUpdateResend = absl::Seconds(2);

int ConnectionCount(const LoadOptions& options) {
  if (options.connections > 0) return options.connections;
  return std::clamp(options.agents / 2000, 1, 16);
}

}  // namespace

EmulatedAgents::EmulatedAgents(zmq::context_t& context, EventLoop& loop,
                               const LoadOptions& options, LoadCounts& counts)
    : loop_(loop), options_(options), counts_(counts), random_(options.seed) {
  for (int c = 0; c < ConnectionCount(options); ++c) {
    connections_.push_back(std::make_unique<DealerSocket>(
        context, IsZkUrl(options.master) ? "" : options.master, loop, [this](wire::Envelope::Reader env) { OnMessage(env); }));
  }
  timers_.push_back(loop.Every(kTick, [this] { RegisterTick(); }));
  timers_.push_back(loop.Every(kTick, [this] { HeartbeatTick(); }));
  timers_.push_back(loop.Every(absl::Milliseconds(2), [this] { FinishTick(); }));
}

EmulatedAgents::~EmulatedAgents() {
  for (EventLoop::TimerId id : timers_) loop_.Cancel(id);
}

void EmulatedAgents::Retarget(const std::string& endpoint) {
  for (auto& connection : connections_) connection->Retarget(endpoint);
  for (size_t i = 0; i < next_to_register_; ++i) {
    Agent& a = agents_[i];
    if (a.silent || a.id.empty()) continue;
    a.reregistering = true;
    reregister_queue_.push_back(static_cast<int>(i));
  }
}

void EmulatedAgents::Add(int count) {
  agents_.reserve(agents_.size() + count);
  for (int i = 0; i < count; ++i) {
    Agent& a = agents_.emplace_back();
    a.hostname = absl::StrCat("lg-", agents_.size() - 1, "-", options_.seed);
  }
}

void EmulatedAgents::RegisterTick() {
  int n = 0;
  for (; n < kRegistrationsPerTick && !reregister_queue_.empty(); ++n) {
    SendRegistration(reregister_queue_.back());
    reregister_queue_.pop_back();
  }
  for (; n < kRegistrationsPerTick && next_to_register_ < agents_.size(); ++n) {
    SendRegistration(static_cast<int>(next_to_register_++));
  }
}

void EmulatedAgents::SendRegistration(int index) {
  Agent& a = agents_[index];
  WireMessage msg;
  auto r = NewEnvelope(msg, static_cast<uint64_t>(index) + 1).initRegisterAgent();
  r.setAgentId(a.id);
  r.setHostname(a.hostname);
  r.setAddress("127.0.0.1");
  auto res = r.initResources();
  res.setCpus(options_.agent_cpus);
  res.setMem(options_.agent_mem);
  res.setDisk(options_.agent_disk);
  auto tasks = r.initTasks(a.tasks.size());
  int i = 0;
  for (const auto& [task_id, task] : a.tasks) {
    auto t = tasks[i++];
    t.setFrameworkId(task.framework_id);
    t.setState(wire::TaskState::RUNNING);
    auto spec = t.initSpec();
    spec.setTaskId(task_id);
    spec.setCommand("emulated");
    spec.initResources().setCpus(options_.task_cpus);
    spec.getResources().setMem(options_.task_mem);
  }
  a.register_sent = loop_.Now();
  Send(index, msg);
}

void EmulatedAgents::HeartbeatTick() {
  const int slots = std::max<int64_t>(1, heartbeat_interval_ / kTick);
  const int slot = static_cast<int>(heartbeat_tick_++ % slots);
  const absl::Time now = loop_.Now();
  for (size_t i = slot; i < next_to_register_; i += slots) {
    Agent& a = agents_[i];
    if (a.silent) continue;
    if (a.id.empty() || a.reregistering) {
      if (now - a.register_sent > kRegistrationRetry) SendRegistration(static_cast<int>(i));
      continue;
    }
    WireMessage msg;
    NewEnvelope(msg).initAgentHeartbeat().setAgentId(a.id);
    Send(static_cast<int>(i), msg);
    a.last_beat = now;
    for (auto& [uuid, update] : a.unacked) {
      if (now - update.sent < kUpdateResend) continue;
      ++counts_.updates_resent;
      SendUpdate(static_cast<int>(i), uuid, update);
    }
  }
}

void EmulatedAgents::FinishTick() {
  const absl::Time now = loop_.Now();
  while (!finishes_.empty() && finishes_.top().at <= now) {
    Finish f = finishes_.top();
    finishes_.pop();
    Agent& a = agents_[f.agent];
    auto task = a.tasks.find(f.task_id);
    if (a.silent || task == a.tasks.end()) continue;
    const std::string framework_id = std::move(task->second.framework_id);
    a.tasks.erase(task);
    --tasks_running_;
    if (a.freed_at == absl::InfinitePast()) a.freed_at = now;
    SendStatus(f.agent, framework_id, f.task_id, wire::TaskState::FINISHED);
  }
}

void EmulatedAgents::Silence(int count) {
  std::vector<int> candidates;
  for (size_t i = 0; i < agents_.size(); ++i) {
    if (!agents_[i].id.empty() && !agents_[i].silent) candidates.push_back(static_cast<int>(i));
  }
  std::shuffle(candidates.begin(), candidates.end(), random_);
  candidates.resize(std::min<size_t>(candidates.size(), count));
  for (int i : candidates) {
    Agent& a = agents_[i];
    a.silent = true;
    expiry_due_[a.id] = a.last_beat + options_.heartbeat_timeout;
    ++counts_.agents_silenced;
  }
}

std::optional<absl::Time> EmulatedAgents::TakeFreedAt(const std::string& agent_id) {
  Agent* a = Find(agent_id);
  if (a == nullptr || a->freed_at == absl::InfinitePast()) return std::nullopt;
  return std::exchange(a->freed_at, absl::InfinitePast());
}

std::optional<absl::Time> EmulatedAgents::TakeExpiryDue(const std::string& agent_id) {
  auto it = expiry_due_.find(agent_id);
  if (it == expiry_due_.end()) return std::nullopt;
  absl::Time due = it->second;
  expiry_due_.erase(it);
  return due;
}

EmulatedAgents::Agent* EmulatedAgents::Find(const std::string& id) {
  auto it = index_of_.find(id);
  return it == index_of_.end() ? nullptr : &agents_[it->second];
}

void EmulatedAgents::Send(int index, capnp::MessageBuilder& msg) {
  if (!connections_[index % connections_.size()]->Send(msg)) ++counts_.send_dropped;
}

void EmulatedAgents::SendStatus(int index, const std::string& framework_id,
                                const std::string& task_id, wire::TaskState state) {
  const uint64_t uuid = next_uuid_++;
  Update& update =
      agents_[index].unacked.emplace(uuid, Update{framework_id, task_id, state}).first->second;
  ++counts_.updates_sent;
  SendUpdate(index, uuid, update);
}

void EmulatedAgents::SendUpdate(int index, uint64_t uuid, Update& update) {
  update.sent = loop_.Now();
  WireMessage msg;
  auto s = NewEnvelope(msg).initStatusUpdate().initStatus();
  s.setTaskId(update.task_id);
  s.setFrameworkId(update.framework_id);
  s.setAgentId(agents_[index].id);
  s.setState(update.state);
  s.setUuid(absl::StrCat("u", uuid));
  s.setTimestampUs(absl::ToUnixMicros(loop_.Now()));
  Send(index, msg);
}

void EmulatedAgents::OnAcknowledge(wire::Acknowledge::Reader msg) {
  Agent* a = Find(msg.getAgentId());
  absl::string_view uuid(msg.getUuid().cStr(), msg.getUuid().size());
  uint64_t number = 0;
  if (a == nullptr || !absl::ConsumePrefix(&uuid, "u") || !absl::SimpleAtoi(uuid, &number)) return;
  if (a->unacked.erase(number) > 0) ++counts_.updates_acked;  // duplicates count once
}

void EmulatedAgents::OnRunTask(wire::RunTask::Reader msg) {
  auto it = index_of_.find(std::string(msg.getAgentId()));
  if (it == index_of_.end()) return;
  Agent& a = agents_[it->second];
  if (a.silent) return;
  const std::string task_id = msg.getTask().getTaskId();
  const std::string framework_id = msg.getFrameworkId();
  a.tasks[task_id] = Task{framework_id};
  ++tasks_running_;
  SendStatus(it->second, framework_id, task_id, wire::TaskState::RUNNING);
  std::uniform_real_distribution<double> spread(0.5, 1.5);
  finishes_.push(Finish{loop_.Now() + options_.task_duration * spread(random_), it->second, task_id});
}

void EmulatedAgents::OnMessage(wire::Envelope::Reader env) {
  switch (env.which()) {
    case wire::Envelope::AGENT_REGISTERED: {
      const uint64_t index = env.getRequestId() - 1;
      if (index >= agents_.size()) return;
      Agent& a = agents_[index];
      if (a.silent) return;
      heartbeat_interval_ =
          absl::Milliseconds(std::max<uint32_t>(10, env.getAgentRegistered().getHeartbeatIntervalMs()));
      a.last_beat = loop_.Now();
      a.reregistering = false;
      if (a.id.empty()) {
        a.id = env.getAgentRegistered().getAgentId();
        index_of_[a.id] = static_cast<int>(index);
        ++registered_;
        ++counts_.agents_registered;
        counts_.registration.Add(loop_.Now() - a.register_sent);
      } else {
        ++counts_.agents_reregistered;
        counts_.last_reregistered = loop_.Now();
        // The master may be new: what it never acknowledged goes again.
        for (auto& [uuid, update] : a.unacked) {
          ++counts_.updates_resent;
          SendUpdate(static_cast<int>(index), uuid, update);
        }
      }
      return;
    }
    case wire::Envelope::RUN_TASK:
      return OnRunTask(env.getRunTask());
    case wire::Envelope::KILL_TASK: {
      auto k = env.getKillTask();
      auto it = index_of_.find(std::string(k.getAgentId()));
      if (it == index_of_.end() || agents_[it->second].silent) return;
      Agent& a = agents_[it->second];
      auto task = a.tasks.find(std::string(k.getTaskId()));
      if (task == a.tasks.end()) return;
      const std::string framework_id = std::move(task->second.framework_id);
      a.tasks.erase(task);
      --tasks_running_;
      SendStatus(it->second, framework_id, k.getTaskId(), wire::TaskState::KILLED);
      return;
    }
    case wire::Envelope::ACKNOWLEDGE:
      return OnAcknowledge(env.getAcknowledge());
    case wire::Envelope::REREGISTER_AGENT: {
      auto it = index_of_.find(std::string(env.getReregisterAgent().getAgentId()));
      if (it == index_of_.end()) return;
      Agent& a = agents_[it->second];
      if (a.silent || a.reregistering) return;  // one registration in flight
      a.reregistering = true;
      SendRegistration(it->second);
      return;
    }
    case wire::Envelope::ERROR: {
      // A registration (its request id is the agent's index + 1) that reached
      // a master not elected yet (heard of before it had): again shortly, as
      // real agents do.
      const uint64_t rid = env.getRequestId();
      if (env.getError().getCode() == wire::ErrorCode::NOT_LEADER && rid > 0 && rid <= agents_.size()) {
        loop_.After(absl::Milliseconds(200), [this, index = static_cast<int>(rid - 1)] {
          reregister_queue_.push_back(index);
        });
        return;
      }
      ++counts_.errors;
      AGORA_LOG(WARNING, "loadgen") << "the master answered an agent: "
                                    << env.getError().getMessage().cStr();
      return;
    }
    default:
      return;
  }
}

}  // namespace agora::loadgen
