#include "master/allocator/drf_sorter.h"

#include <algorithm>

namespace agora::master {
namespace {
Resources ScalarsOf(const Resources& r) {
  Resources s;
  s.set_cpus(r.cpus());
  s.set_mem(r.mem());
  s.set_disk(r.disk());
  return s;
}
}  // namespace

void DrfSorter::Add(const std::string& client, double weight) {
  auto [it, inserted] = clients_.try_emplace(client);
  if (inserted) it->second.weight = weight > 0 ? weight : 1.0;
}

void DrfSorter::Remove(const std::string& client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  if (it->second.active) order_.erase({it->second.share, client});
  clients_.erase(it);
}

void DrfSorter::SetActive(const std::string& client, bool active) {
  auto it = clients_.find(client);
  if (it == clients_.end() || it->second.active == active) return;
  Client& c = it->second;
  if (active) {
    c.share = ComputeShare(c);
    order_.insert({c.share, client});
  } else {
    order_.erase({c.share, client});
  }
  c.active = active;
}

void DrfSorter::SetWeight(const std::string& client, double weight) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  it->second.weight = weight > 0 ? weight : 1.0;
  Reinsert(client, it->second);
}

double DrfSorter::ComputeShare(const Client& c) const {
  double share = 0;
  if (total_.cpus_milli() > 0)
    share = std::max(share, double(c.allocated.cpus_milli()) / total_.cpus_milli());
  if (total_.mem_milli() > 0)
    share = std::max(share, double(c.allocated.mem_milli()) / total_.mem_milli());
  if (total_.disk_milli() > 0)
    share = std::max(share, double(c.allocated.disk_milli()) / total_.disk_milli());
  return share / c.weight;
}

void DrfSorter::Reinsert(const std::string& name, Client& c) {
  if (!c.active) return;
  double share = ComputeShare(c);
  if (share == c.share && !dirty_) return;
  order_.erase({c.share, name});
  c.share = share;
  order_.insert({c.share, name});
}

void DrfSorter::Allocated(const std::string& client, const Resources& resources) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  it->second.allocated += ScalarsOf(resources);
  Reinsert(client, it->second);
}

void DrfSorter::Unallocated(const std::string& client, const Resources& resources) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  it->second.allocated -= ScalarsOf(resources);
  Reinsert(client, it->second);
}

Resources DrfSorter::allocation(const std::string& client) const {
  auto it = clients_.find(client);
  return it == clients_.end() ? Resources() : it->second.allocated;
}

double DrfSorter::share(const std::string& client) {
  if (dirty_) ResortAll();
  auto it = clients_.find(client);
  return it == clients_.end() ? 0 : ComputeShare(it->second);
}

void DrfSorter::SetTotal(const Resources& total) {
  Resources scalars = ScalarsOf(total);
  if (scalars == total_) return;
  total_ = scalars;
  dirty_ = true;
}

void DrfSorter::ResortAll() {
  order_.clear();
  for (auto& [name, c] : clients_) {
    if (!c.active) continue;
    c.share = ComputeShare(c);
    order_.insert({c.share, name});
  }
  dirty_ = false;
}

const DrfSorter::Order& DrfSorter::order() {
  if (dirty_) ResortAll();
  return order_;
}

}  // namespace agora::master
