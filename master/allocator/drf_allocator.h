// DrfAllocator decides which framework is offered which agent's resources, by
// Dominant Resource Fairness across roles, then frameworks inside a role.
// Pure logic: no I/O and no clock reads (time is passed in); not thread-safe.
// Owned by Master and called only from the master's event loop.
//
// Internally every agent, framework and role is a dense index (ids are hashed
// once per call, never inside the allocation loop), each agent's free
// resources are kept up to date rather than recomputed per pass, and a pass
// visits only the agents marked as changed (see Allocator::Allocate); filter
// expiries are kept in time buckets so that an expiring filter marks its
// agent (and is itself erased lazily, when next looked at).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
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
  void Filter(const FrameworkId& fw, const AgentId& agent, const Resources& refused,
              absl::Time until) override;
  void SetRoleWeight(const std::string& role, double weight) override;
  void SetRoleQuota(const std::string& role, const Resources& limit) override;
  std::vector<Allocation> Allocate(absl::Time now) override;
  // How many agents the last pass looked at (its candidates).
  size_t last_pass_candidates() const { return candidates_.size(); }

 private:
  using Index = uint32_t;
  static constexpr Index kNone = ~Index{0};

  struct Refusal {
    absl::Time until;
    Resources refused;
  };
  // A framework's slot lives as long as the allocator: what a removed
  // framework still holds on agents stays attributed to it until recovered.
  struct Framework {
    FrameworkId id;
    Index role = kNone;  // kNone: known only from AddAllocation, not added
    bool active = true;
    bool suppressed = false;
    absl::flat_hash_map<Index, Refusal> filters;  // by agent
  };
  struct Role {
    std::string name;
    DrfSorter frameworks;
    int offerable_frameworks = 0;  // active, not suppressed
    Resources quota;               // empty: no cap
  };
  struct Agent {
    AgentId id;
    bool present = false;
    bool allocatable = true;
    bool changed = false;  // listed in changed_
    Resources total;
    Resources available;
    absl::flat_hash_map<Index, Resources> by_framework;
  };

  Index FrameworkSlot(const FrameworkId& id);  // creates a slot
  Index FindFramework(const FrameworkId& id) const;
  Index RoleSlot(const std::string& name);  // creates a role
  Index FindAgent(const AgentId& id) const;
  bool Offerable(const Framework& f) const { return f.role != kNone && f.active && !f.suppressed; }
  // Keeps the sorters' active flags in step after `f` changed.
  void UpdateOfferable(Index fi, bool was_offerable);
  bool Filtered(Framework& f, Index agent, const Resources& offer, absl::Time now);
  void Take(Index fi, Agent& agent, const Resources& resources);
  void UpdateTotal();
  // Makes the agent a candidate of the next pass.
  void MarkChanged(Index ai);
  // Sets `fi`'s filter on `ai` and schedules its expiry.
  void SetFilter(Index fi, Index ai, const Resources& refused, absl::Time until);
  // Marks the agents whose filters expired by `now`.
  void ExpireFilters(absl::Time now);

  std::vector<Framework> frameworks_;
  absl::flat_hash_map<FrameworkId, Index> framework_index_;
  std::vector<Role> roles_;
  absl::flat_hash_map<std::string, Index> role_index_;
  absl::flat_hash_map<std::string, double> role_weights_;
  DrfSorter role_sorter_;
  std::vector<Agent> agents_;
  absl::flat_hash_map<AgentId, Index> agent_index_;
  std::vector<Index> changed_;  // candidates of the next pass
  bool all_changed_ = false;    // every agent is a candidate
  // Agents by the 10 ms bucket in which a filter on them ends (rounded up,
  // so that an agent is never marked before its filter is over).
  static constexpr absl::Duration kFilterBucket = absl::Milliseconds(10);
  absl::btree_map<int64_t, std::vector<Index>> filter_expiries_;
  std::vector<Index> candidates_;  // scratch for Allocate()
  Resources total_;
  std::mt19937_64 rng_;
};

}  // namespace agora::master
