// The master's in-memory records of agents, frameworks, offers and tasks,
// and the small registries that own them and keep their cross-indexes in
// step. Plain data owned by Master; master loop only.
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/time/time.h"
#include "common/event_loop.h"
#include "agora/resources.h"
#include "agora/task.h"
#include "common/transport.h"
#include "master/allocator/allocator.h"

namespace agora::master {

using OfferId = std::string;
using TaskId = std::string;

struct TaskKey {
  FrameworkId framework_id;
  TaskId task_id;
  bool operator==(const TaskKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const TaskKey& k) {
    return H::combine(std::move(h), k.framework_id, k.task_id);
  }
};

enum class AgentState { kActive, kUnreachable, kGone, kDraining, kDrained };
absl::string_view AgentStateName(AgentState state);

struct AgentRecord {
  AgentId id;
  std::string hostname;
  Env attributes;
  Resources total;
  Resources used;  // by non-terminal tasks
  AgentState state = AgentState::kActive;
  PeerId peer;
  bool limits_enforced = false;
  int cgroup_version = 0;
  std::string http_endpoint;  // for sandbox files; empty if it serves none
  std::string http_cert_sha256;  // secured: its HTTPS certificate's fingerprint
  std::string address;        // IP address its tasks are reached at
  std::string principal;      // secured: the key it registered with (only it may act for it)
  std::string checkpoint_error;  // its last checkpoint write failed (it launches nothing)
  absl::Time registered_at;
  absl::Time unreachable_since;
  // Draining (an operator asked; kept across unreachability and restarts):
  // its deadline, InfiniteFuture for none; InfinitePast when not draining.
  absl::Time drain_deadline = absl::InfinitePast();
  EventLoop::TimerId drain_timer = 0;
  EventLoop::TimerId gone_timer = 0;
  absl::flat_hash_set<TaskKey> tasks;
  absl::flat_hash_set<OfferId> offers;
};

enum class FrameworkState { kActive, kDisconnected };
absl::string_view FrameworkStateName(FrameworkState state);

struct FrameworkRecord {
  FrameworkId id;
  std::string name;
  std::string role;
  std::string endpoint;
  std::string endpoint_cert_sha256;  // secured: its HTTPS certificate's fingerprint
  PeerId peer;
  std::string principal;  // secured: the key it subscribed with (only it may resume it)
  FrameworkState state = FrameworkState::kActive;
  absl::Duration failover_timeout;
  absl::Time subscribed_at;
  absl::Time disconnected_at;
  bool suppressed = false;
  EventLoop::TimerId failover_timer = 0;
  absl::flat_hash_set<TaskId> tasks;  // non-terminal and terminal-unacked
  absl::flat_hash_set<OfferId> offers;
};

struct OfferRecord {
  OfferId id;
  FrameworkId framework_id;
  AgentId agent_id;
  Resources resources;
  absl::Time created;  // it is rescinded at created + --offer_timeout
};

struct TaskRecord {
  TaskSpec spec;
  FrameworkId framework_id;
  AgentId agent_id;
  TaskState state = TaskState::kStaging;
  std::string message;
  std::string reason;
  int32_t exit_code = 0;
  std::optional<bool> healthy;
  std::optional<TaskUsage> usage;  // the latest an agent reported, while it runs
  bool kill_requested = false;
  std::string latest_uuid;  // of the last update forwarded to the framework
  absl::Time launched_at;
  absl::Time updated_at;
};

}  // namespace agora::master
