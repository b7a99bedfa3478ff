// DrfSorter orders clients (roles, or frameworks inside a role) by weighted
// dominant share: max over cpus, mem and disk of allocated / cluster total,
// divided by the client's weight. Changing one client's allocation re-sorts
// that client only; a change of the cluster total re-sorts everyone lazily on
// the next read. Only active clients are in the order. Not thread-safe.
#pragma once

#include <set>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "common/resources.h"

namespace agora::master {

class DrfSorter {
 public:
  using Order = std::set<std::pair<double, std::string>>;

  // Idempotent. New clients are inactive.
  void Add(const std::string& client, double weight = 1.0);
  void Remove(const std::string& client);
  bool Contains(const std::string& client) const { return clients_.contains(client); }
  void SetActive(const std::string& client, bool active);
  void SetWeight(const std::string& client, double weight);

  void Allocated(const std::string& client, const Resources& resources);
  void Unallocated(const std::string& client, const Resources& resources);
  // Scalars only; empty for unknown clients.
  Resources allocation(const std::string& client) const;
  double share(const std::string& client);

  void SetTotal(const Resources& total);

  // Active clients, lowest weighted dominant share first (ties by name).
  const Order& order();

 private:
  struct Client {
    double weight = 1.0;
    Resources allocated;  // scalars only
    bool active = false;
    double share = 0;     // as keyed in order_ while active
  };
  double ComputeShare(const Client& c) const;
  void Reinsert(const std::string& name, Client& c);
  void ResortAll();

  absl::flat_hash_map<std::string, Client> clients_;
  Order order_;
  Resources total_;
  bool dirty_ = false;
};

}  // namespace agora::master
