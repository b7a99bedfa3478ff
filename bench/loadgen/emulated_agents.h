// EmulatedAgents plays many agents over a few DEALER connections to the
// master: each registers with its own hostname and resources, heartbeats
// every interval the master asks for, and "runs" the tasks it is sent
// without spawning anything: RUNNING at once, FINISHED after a sampled
// duration (0.5x to 1.5x of --task_duration). Status updates carry uuids and
// count as acknowledged when the master relays the framework's ack; as real
// agents do, unacknowledged ones are sent again after a re-registration and
// every 2 seconds.
// Agents the master does not know (a master restart) re-register with their
// tasks, one registration in flight at a time.
// Silenced agents stop talking, to measure expiry detection.
// Loop thread only.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "bench/loadgen/load.h"
#include "capnp/agora.capnp.h"
#include "common/event_loop.h"
#include "common/sockets.h"

namespace agora::loadgen {

class EmulatedAgents {
 public:
  EmulatedAgents(zmq::context_t& context, EventLoop& loop, const LoadOptions& options,
                 LoadCounts& counts);
  ~EmulatedAgents();
  // Moves every connection to `endpoint` (a newly elected master) and
  // re-registers every agent there, as real agents do (paced as first
  // registrations are).
  void Retarget(const std::string& endpoint);

  // Adds `count` agents and registers them, a bounded batch per tick.
  void Add(int count);
  int size() const { return static_cast<int>(agents_.size()); }
  int registered() const { return registered_; }
  // Silences `count` registered agents chosen at random: they send nothing
  // more and ignore what they get.
  void Silence(int count);
  int silenced_undetected() const { return static_cast<int>(expiry_due_.size()); }
  int tasks_running() const { return tasks_running_; }

  // For the frameworks' measurements, each answered once per event:
  // when `agent_id` last freed resources not offered since, and when a
  // silenced agent became due to be declared lost.
  std::optional<absl::Time> TakeFreedAt(const std::string& agent_id);
  std::optional<absl::Time> TakeExpiryDue(const std::string& agent_id);

 private:
  struct Task {
    std::string framework_id;
  };
  struct Update {
    std::string framework_id;
    std::string task_id;
    wire::TaskState state;
    absl::Time sent;
  };
  struct Agent {
    std::string id;  // empty until registered
    std::string hostname;
    bool silent = false;
    bool reregistering = false;
    absl::Time register_sent;
    absl::Time last_beat;
    absl::Time freed_at = absl::InfinitePast();  // InfinitePast: nothing freed
    absl::flat_hash_map<std::string, Task> tasks;
    std::map<uint64_t, Update> unacked;  // by uuid number, oldest first
  };
  struct Finish {
    absl::Time at;
    int agent;
    std::string task_id;
    bool operator>(const Finish& o) const { return at > o.at; }
  };

  void OnMessage(wire::Envelope::Reader env);
  void OnRunTask(wire::RunTask::Reader msg);
  void SendRegistration(int index);
  void SendStatus(int index, const std::string& framework_id, const std::string& task_id,
                  wire::TaskState state);
  void SendUpdate(int index, uint64_t uuid, Update& update);
  void OnAcknowledge(wire::Acknowledge::Reader msg);
  void Send(int index, capnp::MessageBuilder& msg);
  void RegisterTick();
  void HeartbeatTick();
  void FinishTick();
  Agent* Find(const std::string& id);

  EventLoop& loop_;
  const LoadOptions& options_;
  LoadCounts& counts_;
  std::vector<std::unique_ptr<DealerSocket>> connections_;
  std::vector<Agent> agents_;
  absl::flat_hash_map<std::string, int> index_of_;
  size_t next_to_register_ = 0;
  std::vector<int> reregister_queue_;  // Retarget(): agents to register again
  int registered_ = 0;
  int tasks_running_ = 0;
  absl::Duration heartbeat_interval_ = absl::Seconds(1);
  int64_t heartbeat_tick_ = 0;
  uint64_t next_uuid_ = 1;
  std::priority_queue<Finish, std::vector<Finish>, std::greater<>> finishes_;
  absl::flat_hash_map<std::string, absl::Time> expiry_due_;
  std::mt19937_64 random_;
  std::vector<EventLoop::TimerId> timers_;
};

}  // namespace agora::loadgen
