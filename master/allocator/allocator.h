// Allocator decides which framework is offered which agent's free resources.
// It is the seam between the master's bookkeeping and allocation policy:
// pure logic, no I/O, no clock reads (time is passed in), not thread-safe.
// Owned by Master and called only from the master's event loop.
//
// Resource accounting contract: every resource the allocator hands out in an
// Allocation, or is told about with AddAllocation, stays allocated to that
// framework on that agent until Recover() returns it (offer declined, task
// finished) or the agent is removed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agora/resources.h"

namespace agora::master {

using AgentId = std::string;
using FrameworkId = std::string;

// The least an offer holds: this many cpus, or this much memory (MiB).
inline constexpr double kMinAllocatableCpus = 0.01;
inline constexpr double kMinAllocatableMem = 32;

struct Allocation {
  FrameworkId framework_id;
  AgentId agent_id;
  Resources resources;
};

class Allocator {
 public:
  virtual ~Allocator() = default;

  // A framework starts active and unsuppressed.
  virtual void AddFramework(const FrameworkId& id, const std::string& role) = 0;
  // Forgets the framework; what it still holds stays counted on its agents
  // until recovered.
  virtual void RemoveFramework(const FrameworkId& id) = 0;
  // Inactive (disconnected) frameworks get no offers but keep their shares.
  virtual void ActivateFramework(const FrameworkId& id) = 0;
  virtual void DeactivateFramework(const FrameworkId& id) = 0;
  virtual void Suppress(const FrameworkId& id) = 0;
  // Clears the suppression and every decline filter of the framework.
  virtual void Revive(const FrameworkId& id) = 0;

  virtual void AddAgent(const AgentId& id, const Resources& total) = 0;
  virtual void RemoveAgent(const AgentId& id) = 0;
  // Whether the agent takes part in allocation (draining agents do not).
  virtual void SetAgentAllocatable(const AgentId& id, bool allocatable) = 0;

  // Records resources a framework already uses on an agent (tasks reported by
  // a re-registering agent).
  virtual void AddAllocation(const FrameworkId& fw, const AgentId& agent,
                             const Resources& resources) = 0;
  // Returns resources to the agent's free pool. With refuse_until in the
  // future, the framework refused them: see Filter().
  virtual void Recover(const FrameworkId& fw, const AgentId& agent, const Resources& resources,
                       absl::Time refuse_until = absl::InfinitePast()) = 0;
  // Until `until`, the agent is not offered to the framework while what it
  // has free is within `refused` (as Mesos' refusal filters: once more is
  // free, it is offered again). A later filter replaces an earlier one.
  virtual void Filter(const FrameworkId& fw, const AgentId& agent, const Resources& refused,
                      absl::Time until) = 0;

  virtual void SetRoleWeight(const std::string& role, double weight) = 0;
  // Caps the scalars a role may hold; an empty Resources removes the cap.
  virtual void SetRoleQuota(const std::string& role, const Resources& limit) = 0;

  // One allocation pass: each candidate agent's free resources go whole to
  // the framework with the lowest dominant share (roles first, then
  // frameworks inside the role) that has not filtered it. Passes are driven by
  // events, as Mesos' allocate(agents): the candidates are the agents whose
  // offerable resources may have changed since the last pass (resources
  // returned, agent added or made allocatable, a filter expired by `now`), or
  // every agent after a framework event (added, activated, revived) or a role
  // change. A pass therefore costs what changed, not the cluster's size.
  // Free resources below the minimum (kMinAllocatableCpus or
  // kMinAllocatableMem, Mesos' --min_allocatable_resources) are not offered.
  virtual std::vector<Allocation> Allocate(absl::Time now) = 0;
};

std::unique_ptr<Allocator> NewDrfAllocator(uint64_t seed = 0);

}  // namespace agora::master
