// DrfSorter orders clients (roles, or frameworks inside a role) by weighted
// dominant share: max over cpus, mem and disk of allocated / cluster total,
// divided by the client's weight. Clients are dense integer handles chosen by
// the caller. Changing one client's allocation re-sorts that client only
// (reusing its node: no allocation); a change of the cluster total re-sorts
// everyone lazily on the next read. Only active clients are in the order.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "agora/resources.h"

namespace agora::master {

class DrfSorter {
 public:
  using Client = uint32_t;
  // Lowest share first; ties go to the lower handle.
  using Order = std::set<std::pair<double, Client>>;

  // Idempotent. New clients are inactive with nothing allocated.
  void Add(Client client, double weight = 1.0);
  void Remove(Client client);
  bool Contains(Client client) const;
  void SetActive(Client client, bool active);
  void SetWeight(Client client, double weight);

  // Scalars only count; ports are ignored.
  void Allocated(Client client, const Resources& resources);
  void Unallocated(Client client, const Resources& resources);
  Resources allocation(Client client) const;
  double share(Client client);

  void SetTotal(const Resources& total);
  const Order& order();

 private:
  struct Entry {
    bool present = false;
    bool active = false;
    double weight = 1.0;
    int64_t cpus = 0, mem = 0, disk = 0;  // allocated, fixed point
    double share = 0;                     // as keyed in order_ while active
  };
  double ComputeShare(const Entry& e) const;
  void Reinsert(Client client, Entry& e);
  Entry* Find(Client client);

  std::vector<Entry> entries_;
  Order order_;
  int64_t total_cpus_ = 0, total_mem_ = 0, total_disk_ = 0;
  bool dirty_ = false;
};

}  // namespace agora::master
