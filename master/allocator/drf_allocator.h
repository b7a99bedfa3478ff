// DrfAllocator decides which framework is offered which agent's resources, by
// Dominant Resource Fairness across roles, then frameworks inside a role.
// Pure logic: no I/O and no clock reads (time is passed in); not thread-safe.
// Owned by Master and called only from the master's event loop.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "master/allocator/allocator.h"
#include "master/allocator/drf_sorter.h"

namespace agora::master {

class DrfAllocator final : public Allocator {
 public:
  explicit DrfAllocator(uint64_t seed) : rng_(seed) {}

  void AddFramework(const FrameworkId& id, const std::string& role) override;
  void RemoveFramework(const FrameworkId& id) override;
  void ActivateFramework(const FrameworkId& id) override;
  void DeactivateFramework(const FrameworkId& id) override;
  void Suppress(const FrameworkId& id) override;
  void Revive(const FrameworkId& id) override;
  void AddAgent(const AgentId& id, const Resources& total) override;
  void RemoveAgent(const AgentId& id) override;
  void SetAgentAllocatable(const AgentId& id, bool allocatable) override;
  void AddAllocation(const FrameworkId& fw, const AgentId& agent,
                     const Resources& resources) override;
  void Recover(const FrameworkId& fw, const AgentId& agent, const Resources& resources,
               absl::Time refuse_until = absl::InfinitePast()) override;
  void SetRoleWeight(const std::string& role, double weight) override;
  void SetRoleQuota(const std::string& role, const Resources& limit) override;
  std::vector<Allocation> Allocate(absl::Time now) override;

 private:
  struct Framework {
    std::string role;
    bool active = true;
    bool suppressed = false;
    absl::flat_hash_map<AgentId, absl::Time> filters;  // agent -> refuse until
  };
  struct Role {
    DrfSorter frameworks;
    int offerable_frameworks = 0;  // active and not suppressed
    Resources quota;               // empty: no cap
  };
  struct Agent {
    Resources total;
    Resources allocated;
    absl::flat_hash_map<FrameworkId, Resources> by_framework;
    bool allocatable = true;
  };

  bool Offerable(const Framework& f) const { return f.active && !f.suppressed; }
  // Keeps the role and framework sorters' active flags in step with `f`.
  void UpdateOfferable(const FrameworkId& id, Framework& f, bool was_offerable);
  bool Filtered(Framework& f, const AgentId& agent, absl::Time now);
  void Track(const FrameworkId& fw, const std::string& role, Agent& agent,
             const Resources& resources);
  void UpdateTotal();

  absl::flat_hash_map<FrameworkId, Framework> frameworks_;
  absl::flat_hash_map<std::string, Role> roles_;
  absl::flat_hash_map<std::string, double> role_weights_;
  DrfSorter role_sorter_;
  absl::flat_hash_map<AgentId, Agent> agents_;
  std::vector<AgentId> agent_order_;  // shuffled each pass
  Resources total_;
  std::mt19937_64 rng_;
};

}  // namespace agora::master
