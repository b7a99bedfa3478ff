#include "master/allocator/drf_allocator.h"

#include <algorithm>

namespace agora::master {
namespace {

bool AboveMinimum(const Resources& r) {
  return r.cpus() >= kMinAllocatableCpus || r.mem() >= kMinAllocatableMem;
}

}  // namespace

std::unique_ptr<Allocator> NewDrfAllocator(uint64_t seed) {
  return std::make_unique<DrfAllocator>(seed);
}

DrfAllocator::Index DrfAllocator::FindFramework(const FrameworkId& id) const {
  auto it = framework_index_.find(id);
  return it == framework_index_.end() ? kNone : it->second;
}

DrfAllocator::Index DrfAllocator::FrameworkSlot(const FrameworkId& id) {
  auto [it, inserted] = framework_index_.try_emplace(id, static_cast<Index>(frameworks_.size()));
  if (inserted) {
    frameworks_.emplace_back();
    frameworks_.back().id = id;
  }
  return it->second;
}

DrfAllocator::Index DrfAllocator::RoleSlot(const std::string& name) {
  auto [it, inserted] = role_index_.try_emplace(name, static_cast<Index>(roles_.size()));
  if (inserted) {
    roles_.emplace_back();
    roles_.back().name = name;
    roles_.back().frameworks.SetTotal(total_);
    auto w = role_weights_.find(name);
    role_sorter_.Add(it->second, w == role_weights_.end() ? 1.0 : w->second);
  }
  return it->second;
}

DrfAllocator::Index DrfAllocator::FindAgent(const AgentId& id) const {
  auto it = agent_index_.find(id);
  return it == agent_index_.end() || !agents_[it->second].present ? kNone : it->second;
}

void DrfAllocator::UpdateOfferable(Index fi, bool was_offerable) {
  Framework& f = frameworks_[fi];
  const bool now_offerable = Offerable(f);
  if (was_offerable == now_offerable || f.role == kNone) return;
  Role& role = roles_[f.role];
  role.frameworks.SetActive(fi, now_offerable);
  role.offerable_frameworks += now_offerable ? 1 : -1;
  role_sorter_.SetActive(f.role, role.offerable_frameworks > 0);
  if (now_offerable) all_changed_ = true;  // it may take what others filtered
}

void DrfAllocator::MarkChanged(Index ai) {
  Agent& agent = agents_[ai];
  if (agent.changed) return;
  agent.changed = true;
  changed_.push_back(ai);
}

void DrfAllocator::SetFilter(Index fi, Index ai, const Resources& refused, absl::Time until) {
  frameworks_[fi].filters[ai] = {until, refused};
  filter_expiries_[absl::ToInt64Milliseconds(absl::Ceil(until - absl::UnixEpoch(), kFilterBucket))]
      .push_back(ai);
}

void DrfAllocator::ExpireFilters(absl::Time now) {
  const int64_t now_ms = absl::ToInt64Milliseconds(now - absl::UnixEpoch());
  while (!filter_expiries_.empty() && filter_expiries_.begin()->first <= now_ms) {
    // A filter replaced or cleared since only makes a spare candidate.
    for (Index ai : filter_expiries_.begin()->second) {
      if (agents_[ai].present) MarkChanged(ai);
    }
    filter_expiries_.erase(filter_expiries_.begin());
  }
}

void DrfAllocator::AddFramework(const FrameworkId& id, const std::string& role_name) {
  const Index fi = FrameworkSlot(id);
  if (frameworks_[fi].role != kNone) return;  // added already
  const Index ri = RoleSlot(role_name);
  Framework& f = frameworks_[fi];
  f.role = ri;
  f.active = true;
  f.suppressed = false;
  Role& role = roles_[ri];
  role.frameworks.Add(fi);
  // What it already holds (reported by agents before it subscribed) counts.
  for (const Agent& agent : agents_) {
    auto held = agent.by_framework.find(fi);
    if (!agent.present || held == agent.by_framework.end()) continue;
    role.frameworks.Allocated(fi, held->second);
    role_sorter_.Allocated(ri, held->second);
  }
  UpdateOfferable(fi, false);
}

void DrfAllocator::RemoveFramework(const FrameworkId& id) {
  const Index fi = FindFramework(id);
  if (fi == kNone || frameworks_[fi].role == kNone) return;
  Framework& f = frameworks_[fi];
  bool was = Offerable(f);
  f.active = false;
  UpdateOfferable(fi, was);
  Role& role = roles_[f.role];
  // Its allocation leaves the shares; agents keep counting it as used until
  // Recover() returns it.
  role_sorter_.Unallocated(f.role, role.frameworks.allocation(fi));
  role.frameworks.Remove(fi);
  f.role = kNone;
  f.filters.clear();
}

void DrfAllocator::ActivateFramework(const FrameworkId& id) {
  const Index fi = FindFramework(id);
  if (fi == kNone) return;
  bool was = Offerable(frameworks_[fi]);
  frameworks_[fi].active = true;
  UpdateOfferable(fi, was);
}

void DrfAllocator::DeactivateFramework(const FrameworkId& id) {
  const Index fi = FindFramework(id);
  if (fi == kNone) return;
  bool was = Offerable(frameworks_[fi]);
  frameworks_[fi].active = false;
  UpdateOfferable(fi, was);
}

void DrfAllocator::Suppress(const FrameworkId& id) {
  const Index fi = FindFramework(id);
  if (fi == kNone) return;
  bool was = Offerable(frameworks_[fi]);
  frameworks_[fi].suppressed = true;
  UpdateOfferable(fi, was);
}

void DrfAllocator::Revive(const FrameworkId& id) {
  const Index fi = FindFramework(id);
  if (fi == kNone) return;
  bool was = Offerable(frameworks_[fi]);
  frameworks_[fi].suppressed = false;
  frameworks_[fi].filters.clear();
  UpdateOfferable(fi, was);
  all_changed_ = true;  // what its filters hid is offerable again
}

void DrfAllocator::UpdateTotal() {
  role_sorter_.SetTotal(total_);
  for (Role& role : roles_) role.frameworks.SetTotal(total_);
}

void DrfAllocator::AddAgent(const AgentId& id, const Resources& total) {
  auto [it, inserted] = agent_index_.try_emplace(id, static_cast<Index>(agents_.size()));
  if (inserted) agents_.emplace_back();
  Agent& agent = agents_[it->second];
  if (agent.present) return;
  agent = Agent();
  agent.id = id;
  agent.present = true;
  agent.total = total;
  agent.available = total;
  MarkChanged(it->second);
  total_ += total;
  UpdateTotal();
}

void DrfAllocator::RemoveAgent(const AgentId& id) {
  const Index ai = FindAgent(id);
  if (ai == kNone) return;
  Agent& agent = agents_[ai];
  for (const auto& [fi, held] : agent.by_framework) {
    const Framework& f = frameworks_[fi];
    if (f.role == kNone) continue;
    roles_[f.role].frameworks.Unallocated(fi, held);
    role_sorter_.Unallocated(f.role, held);
  }
  for (Framework& f : frameworks_) f.filters.erase(ai);
  total_ -= agent.total;
  agent = Agent();  // a stale entry in changed_ is skipped: `changed` is false
  agent.id = id;   // the slot stays with this id for a re-registration
  UpdateTotal();
}

void DrfAllocator::SetAgentAllocatable(const AgentId& id, bool allocatable) {
  const Index ai = FindAgent(id);
  if (ai == kNone) return;
  agents_[ai].allocatable = allocatable;
  if (allocatable) MarkChanged(ai);
}

void DrfAllocator::Take(Index fi, Agent& agent, const Resources& resources) {
  if (resources == agent.available) {
    agent.available = Resources();  // the common case: the whole agent
  } else {
    agent.available -= resources;
  }
  agent.by_framework[fi] += resources;
  const Framework& f = frameworks_[fi];
  if (f.role == kNone) return;
  roles_[f.role].frameworks.Allocated(fi, resources);
  role_sorter_.Allocated(f.role, resources);
}

void DrfAllocator::AddAllocation(const FrameworkId& fw, const AgentId& agent_id,
                                 const Resources& resources) {
  const Index ai = FindAgent(agent_id);
  if (ai == kNone) return;
  Take(FrameworkSlot(fw), agents_[ai], resources);
}

void DrfAllocator::Recover(const FrameworkId& fw, const AgentId& agent_id,
                           const Resources& resources, absl::Time refuse_until) {
  const Index ai = FindAgent(agent_id);
  const Index fi = FindFramework(fw);
  if (ai == kNone) return;
  Agent& agent = agents_[ai];
  agent.available += resources;
  MarkChanged(ai);
  if (fi == kNone) return;
  auto held = agent.by_framework.find(fi);
  if (held != agent.by_framework.end()) {
    held->second -= resources;
    if (held->second.empty()) agent.by_framework.erase(held);
  }
  Framework& f = frameworks_[fi];
  if (f.role == kNone) return;
  Role& role = roles_[f.role];
  role.frameworks.Unallocated(fi, resources);
  role_sorter_.Unallocated(f.role, resources);
  // Headroom under a quota opened: agents capped before may offer more.
  if (!role.quota.empty()) all_changed_ = true;
  if (refuse_until > absl::InfinitePast() && !resources.empty()) {
    SetFilter(fi, ai, resources, refuse_until);
  }
}

void DrfAllocator::Filter(const FrameworkId& fw, const AgentId& agent_id,
                          const Resources& refused, absl::Time until) {
  const Index ai = FindAgent(agent_id);
  const Index fi = FindFramework(fw);
  if (ai == kNone || fi == kNone || refused.empty()) return;
  SetFilter(fi, ai, refused, until);
}

void DrfAllocator::SetRoleWeight(const std::string& role, double weight) {
  role_weights_[role] = weight;
  auto it = role_index_.find(role);
  if (it != role_index_.end()) role_sorter_.SetWeight(it->second, weight);
}

void DrfAllocator::SetRoleQuota(const std::string& role, const Resources& limit) {
  roles_[RoleSlot(role)].quota = limit;
  all_changed_ = true;
}

bool DrfAllocator::Filtered(Framework& f, Index agent, const Resources& offer, absl::Time now) {
  if (f.filters.empty()) return false;
  auto it = f.filters.find(agent);
  if (it == f.filters.end()) return false;
  if (it->second.until <= now) {
    f.filters.erase(it);
    return false;
  }
  return it->second.refused.Contains(offer);
}

namespace {
// The part of `available` a role may still take under its quota.
Resources CapByQuota(const Resources& available, const Resources& quota,
                     const Resources& allocated) {
  Resources headroom = quota - allocated;
  Resources out = Resources::Scalars(std::min(available.cpus(), headroom.cpus()),
                                     std::min(available.mem(), headroom.mem()),
                                     std::min(available.disk(), headroom.disk()));
  out.set_ports(available.ports());
  return out;
}
}  // namespace

std::vector<Allocation> DrfAllocator::Allocate(absl::Time now) {
  std::vector<Allocation> out;
  ExpireFilters(now);
  // With no framework to offer to, the candidates wait for one.
  if (role_sorter_.order().empty()) return out;
  candidates_.clear();
  if (all_changed_) {
    for (Index ai = 0; ai < agents_.size(); ++ai) {
      if (agents_[ai].present) candidates_.push_back(ai);
    }
  } else {
    for (Index ai : changed_) {
      if (agents_[ai].changed) candidates_.push_back(ai);
    }
  }
  for (Index ai : changed_) agents_[ai].changed = false;
  changed_.clear();
  all_changed_ = false;
  std::shuffle(candidates_.begin(), candidates_.end(), rng_);

  Resources capped;
  for (const Index ai : candidates_) {
    Agent& agent = agents_[ai];
    if (!agent.allocatable || !AboveMinimum(agent.available)) continue;

    Index chosen = kNone;
    const Resources* offer = &agent.available;
    for (const auto& [role_share, ri] : role_sorter_.order()) {
      Role& role = roles_[ri];
      offer = &agent.available;
      if (!role.quota.empty()) {
        capped = CapByQuota(agent.available, role.quota, role_sorter_.allocation(ri));
        if (!AboveMinimum(capped)) continue;
        offer = &capped;
      }
      for (const auto& [fw_share, fi] : role.frameworks.order()) {
        if (Filtered(frameworks_[fi], ai, *offer, now)) continue;
        chosen = fi;
        break;
      }
      if (chosen != kNone) break;
    }
    if (chosen == kNone) continue;
    Resources resources = *offer;
    Take(chosen, agent, resources);
    out.push_back({frameworks_[chosen].id, agent.id, std::move(resources)});
  }
  return out;
}

}  // namespace agora::master
