// Picker chooses one endpoint of a service per request, by policy:
//  - round robin: each in turn;
//  - random: uniformly;
//  - weighted: smooth weighted round robin (nginx's): over any window each
//    endpoint gets its share of picks by weight, spread out, not in bursts;
//  - least outstanding: the one with the fewest requests in flight (a Lease
//    counts as in flight until it is destroyed), ties taken in turn.
// Update() swaps the endpoint set; counters of endpoints that stay are kept.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agora::service::client {

struct Endpoint {
  std::string task_id;
  std::string host;     // the agent's hostname
  std::string address;  // where to connect: the agent's IP address
  uint32_t port = 0;
  double weight = 1;
  bool operator==(const Endpoint&) const = default;
};

enum class Policy { kRoundRobin, kRandom, kWeighted, kLeastOutstanding };

// "roundrobin", "random", "weighted", "least_outstanding".
absl::StatusOr<Policy> ParsePolicy(absl::string_view name);

class Picker {
  struct Slot {
    Endpoint endpoint;
    double current_weight = 0;  // smooth weighted round robin state
    int outstanding = 0;
  };

 public:
  // Holds a picked endpoint (or none: false); under least outstanding it is
  // in flight until the Lease is destroyed or reset. May outlive an Update()
  // that removed its endpoint.
  class Lease {
   public:
    Lease() = default;
    explicit operator bool() const { return slot_ != nullptr; }
    const Endpoint& endpoint() const { return slot_->endpoint; }
    const Endpoint* operator->() const { return &slot_->endpoint; }
    Lease(Lease&&) = default;
    Lease& operator=(Lease&& other) {
      Release();
      picker_ = other.picker_;
      slot_ = std::move(other.slot_);
      return *this;
    }
    ~Lease() { Release(); }
    void Release();

   private:
    friend class Picker;
    Lease(Picker* picker, std::shared_ptr<Slot> slot) : picker_(picker), slot_(std::move(slot)) {}
    Picker* picker_ = nullptr;
    std::shared_ptr<Slot> slot_;
  };

  explicit Picker(Policy policy, uint64_t seed = std::random_device{}());

  void Update(const std::vector<Endpoint>& endpoints);
  // An empty Lease when there is no endpoint. The Picker must outlive it.
  Lease Pick();
  std::vector<Endpoint> Endpoints() const;
  Policy policy() const { return policy_; }

 private:
  const Policy policy_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Slot>> slots_;
  size_t next_ = 0;
  std::mt19937_64 random_;
};

}  // namespace agora::service::client
