#include "master/allocator/drf_sorter.h"

#include <algorithm>

namespace agora::master {

DrfSorter::Entry* DrfSorter::Find(Client client) {
  if (client >= entries_.size() || !entries_[client].present) return nullptr;
  return &entries_[client];
}

bool DrfSorter::Contains(Client client) const {
  return client < entries_.size() && entries_[client].present;
}

void DrfSorter::Add(Client client, double weight) {
  if (client >= entries_.size()) entries_.resize(client + 1);
  Entry& e = entries_[client];
  if (e.present) return;
  e = Entry();
  e.present = true;
  e.weight = weight > 0 ? weight : 1.0;
}

void DrfSorter::Remove(Client client) {
  Entry* e = Find(client);
  if (e == nullptr) return;
  if (e->active) order_.erase({e->share, client});
  *e = Entry();
}

void DrfSorter::SetActive(Client client, bool active) {
  Entry* e = Find(client);
  if (e == nullptr || e->active == active) return;
  if (active) {
    e->share = ComputeShare(*e);
    order_.insert({e->share, client});
  } else {
    order_.erase({e->share, client});
  }
  e->active = active;
}

void DrfSorter::SetWeight(Client client, double weight) {
  Entry* e = Find(client);
  if (e == nullptr) return;
  e->weight = weight > 0 ? weight : 1.0;
  Reinsert(client, *e);
}

double DrfSorter::ComputeShare(const Entry& e) const {
  double share = 0;
  if (total_cpus_ > 0) share = std::max(share, double(e.cpus) / double(total_cpus_));
  if (total_mem_ > 0) share = std::max(share, double(e.mem) / double(total_mem_));
  if (total_disk_ > 0) share = std::max(share, double(e.disk) / double(total_disk_));
  return share / e.weight;
}

void DrfSorter::Reinsert(Client client, Entry& e) {
  if (!e.active || dirty_) return;  // a dirty order is rebuilt on the next read
  const double share = ComputeShare(e);
  if (share == e.share) return;
  auto node = order_.extract({e.share, client});
  e.share = share;
  node.value().first = share;
  order_.insert(std::move(node));
}

void DrfSorter::Allocated(Client client, const Resources& r) {
  Entry* e = Find(client);
  if (e == nullptr) return;
  e->cpus += r.cpus_milli();
  e->mem += r.mem_milli();
  e->disk += r.disk_milli();
  Reinsert(client, *e);
}

void DrfSorter::Unallocated(Client client, const Resources& r) {
  Entry* e = Find(client);
  if (e == nullptr) return;
  e->cpus = std::max<int64_t>(0, e->cpus - r.cpus_milli());
  e->mem = std::max<int64_t>(0, e->mem - r.mem_milli());
  e->disk = std::max<int64_t>(0, e->disk - r.disk_milli());
  Reinsert(client, *e);
}

Resources DrfSorter::allocation(Client client) const {
  if (!Contains(client)) return Resources();
  const Entry& e = entries_[client];
  return Resources::Scalars(double(e.cpus) / Resources::kScale, double(e.mem) / Resources::kScale,
                            double(e.disk) / Resources::kScale);
}

double DrfSorter::share(Client client) {
  Entry* e = Find(client);
  return e == nullptr ? 0 : ComputeShare(*e);
}

void DrfSorter::SetTotal(const Resources& total) {
  if (total.cpus_milli() == total_cpus_ && total.mem_milli() == total_mem_ &&
      total.disk_milli() == total_disk_) {
    return;
  }
  total_cpus_ = total.cpus_milli();
  total_mem_ = total.mem_milli();
  total_disk_ = total.disk_milli();
  dirty_ = true;
}

const DrfSorter::Order& DrfSorter::order() {
  if (dirty_) {
    order_.clear();
    for (Client c = 0; c < entries_.size(); ++c) {
      Entry& e = entries_[c];
      if (!e.present || !e.active) continue;
      e.share = ComputeShare(e);
      order_.insert({e.share, c});
    }
    dirty_ = false;
  }
  return order_;
}

}  // namespace agora::master
