#include "master/allocator/drf_allocator.h"

#include <algorithm>

namespace agora::master {

std::unique_ptr<Allocator> NewDrfAllocator(uint64_t seed) {
  return std::make_unique<DrfAllocator>(seed);
}

void DrfAllocator::AddFramework(const FrameworkId& id, const std::string& role) {
  if (frameworks_.contains(id)) return;
  Framework& f = frameworks_[id];
  f.role = role;
  auto [rit, new_role] = roles_.try_emplace(role);
  if (new_role) {
    auto w = role_weights_.find(role);
    role_sorter_.Add(role, w == role_weights_.end() ? 1.0 : w->second);
    rit->second.frameworks.SetTotal(total_);
  }
  rit->second.frameworks.Add(id);
  UpdateOfferable(id, f, false);
}

void DrfAllocator::RemoveFramework(const FrameworkId& id) {
  auto it = frameworks_.find(id);
  if (it == frameworks_.end()) return;
  Framework& f = it->second;
  bool was = Offerable(f);
  f.active = false;
  UpdateOfferable(id, f, was);
  Role& role = roles_[f.role];
  // Its allocation leaves the role's share; agents keep counting it as used
  // until Recover() returns it.
  role_sorter_.Unallocated(f.role, role.frameworks.allocation(id));
  role.frameworks.Remove(id);
  frameworks_.erase(it);
}

void DrfAllocator::UpdateOfferable(const FrameworkId& id, Framework& f, bool was_offerable) {
  bool now_offerable = Offerable(f);
  if (was_offerable == now_offerable) return;
  Role& role = roles_[f.role];
  role.frameworks.SetActive(id, now_offerable);
  role.offerable_frameworks += now_offerable ? 1 : -1;
  role_sorter_.SetActive(f.role, role.offerable_frameworks > 0);
}

void DrfAllocator::ActivateFramework(const FrameworkId& id) {
  auto it = frameworks_.find(id);
  if (it == frameworks_.end()) return;
  bool was = Offerable(it->second);
  it->second.active = true;
  UpdateOfferable(id, it->second, was);
}

void DrfAllocator::DeactivateFramework(const FrameworkId& id) {
  auto it = frameworks_.find(id);
  if (it == frameworks_.end()) return;
  bool was = Offerable(it->second);
  it->second.active = false;
  UpdateOfferable(id, it->second, was);
}

void DrfAllocator::Suppress(const FrameworkId& id) {
  auto it = frameworks_.find(id);
  if (it == frameworks_.end()) return;
  bool was = Offerable(it->second);
  it->second.suppressed = true;
  UpdateOfferable(id, it->second, was);
}

void DrfAllocator::Revive(const FrameworkId& id) {
  auto it = frameworks_.find(id);
  if (it == frameworks_.end()) return;
  bool was = Offerable(it->second);
  it->second.suppressed = false;
  it->second.filters.clear();
  UpdateOfferable(id, it->second, was);
}

void DrfAllocator::UpdateTotal() {
  role_sorter_.SetTotal(total_);
  for (auto& [name, role] : roles_) role.frameworks.SetTotal(total_);
}

void DrfAllocator::AddAgent(const AgentId& id, const Resources& total) {
  auto [it, inserted] = agents_.try_emplace(id);
  if (!inserted) return;
  it->second.total = total;
  agent_order_.push_back(id);
  total_ += total;
  UpdateTotal();
}

void DrfAllocator::RemoveAgent(const AgentId& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return;
  for (const auto& [fw, res] : it->second.by_framework) {
    auto f = frameworks_.find(fw);
    if (f == frameworks_.end()) continue;
    roles_[f->second.role].frameworks.Unallocated(fw, res);
    role_sorter_.Unallocated(f->second.role, res);
  }
  total_ -= it->second.total;
  agents_.erase(it);
  std::erase(agent_order_, id);
  UpdateTotal();
}

void DrfAllocator::SetAgentAllocatable(const AgentId& id, bool allocatable) {
  auto it = agents_.find(id);
  if (it != agents_.end()) it->second.allocatable = allocatable;
}

void DrfAllocator::Track(const FrameworkId& fw, const std::string& role, Agent& agent,
                         const Resources& resources) {
  agent.allocated += resources;
  agent.by_framework[fw] += resources;
  roles_[role].frameworks.Allocated(fw, resources);
  role_sorter_.Allocated(role, resources);
}

void DrfAllocator::AddAllocation(const FrameworkId& fw, const AgentId& agent,
                                 const Resources& resources) {
  auto a = agents_.find(agent);
  if (a == agents_.end()) return;
  auto f = frameworks_.find(fw);
  if (f == frameworks_.end()) {
    // A framework not (yet) subscribed: the agent still counts the use.
    a->second.allocated += resources;
    a->second.by_framework[fw] += resources;
    return;
  }
  Track(fw, f->second.role, a->second, resources);
}

void DrfAllocator::Recover(const FrameworkId& fw, const AgentId& agent,
                           const Resources& resources, absl::Time refuse_until) {
  auto a = agents_.find(agent);
  if (a == agents_.end()) return;
  a->second.allocated -= resources;
  auto held = a->second.by_framework.find(fw);
  if (held != a->second.by_framework.end()) {
    held->second -= resources;
    if (held->second.empty()) a->second.by_framework.erase(held);
  }
  auto f = frameworks_.find(fw);
  if (f == frameworks_.end()) return;
  roles_[f->second.role].frameworks.Unallocated(fw, resources);
  role_sorter_.Unallocated(f->second.role, resources);
  if (refuse_until > absl::InfinitePast()) f->second.filters[agent] = refuse_until;
}

void DrfAllocator::SetRoleWeight(const std::string& role, double weight) {
  role_weights_[role] = weight;
  role_sorter_.SetWeight(role, weight);
}

void DrfAllocator::SetRoleQuota(const std::string& role, const Resources& limit) {
  auto [it, inserted] = roles_.try_emplace(role);
  if (inserted) {
    auto w = role_weights_.find(role);
    role_sorter_.Add(role, w == role_weights_.end() ? 1.0 : w->second);
    it->second.frameworks.SetTotal(total_);
  }
  it->second.quota = limit;
}

bool DrfAllocator::Filtered(Framework& f, const AgentId& agent, absl::Time now) {
  if (f.filters.empty()) return false;
  auto it = f.filters.find(agent);
  if (it == f.filters.end()) return false;
  if (it->second > now) return true;
  f.filters.erase(it);
  return false;
}

namespace {
// The part of `available` a role may still take under its quota.
Resources CapByQuota(const Resources& available, const Resources& quota,
                     const Resources& allocated) {
  if (quota.empty()) return available;
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
  if (role_sorter_.order().empty()) return out;
  std::shuffle(agent_order_.begin(), agent_order_.end(), rng_);
  for (const AgentId& agent_id : agent_order_) {
    Agent& agent = agents_.at(agent_id);
    if (!agent.allocatable) continue;
    Resources available = agent.total - agent.allocated;
    if (!available.HasScalars()) continue;

    const FrameworkId* chosen = nullptr;
    Resources offer;
    for (const auto& [role_share, role_name] : role_sorter_.order()) {
      Role& role = roles_.at(role_name);
      offer = CapByQuota(available, role.quota, role_sorter_.allocation(role_name));
      if (!offer.HasScalars()) continue;
      for (const auto& [fw_share, fw_id] : role.frameworks.order()) {
        if (Filtered(frameworks_.at(fw_id), agent_id, now)) continue;
        chosen = &fw_id;
        break;
      }
      if (chosen != nullptr) break;
    }
    if (chosen == nullptr) continue;
    // Copy before Track() re-sorts the set that `chosen` points into.
    FrameworkId fw = *chosen;
    Track(fw, frameworks_.at(fw).role, agent, offer);
    out.push_back({std::move(fw), agent_id, std::move(offer)});
  }
  return out;
}

}  // namespace agora::master
