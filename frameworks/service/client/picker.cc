#include "frameworks/service/client/picker.h"

#include "absl/strings/str_cat.h"

namespace agora::service::client {

absl::StatusOr<Policy> ParsePolicy(absl::string_view name) {
  if (name == "roundrobin") return Policy::kRoundRobin;
  if (name == "random") return Policy::kRandom;
  if (name == "weighted") return Policy::kWeighted;
  if (name == "least_outstanding") return Policy::kLeastOutstanding;
  return absl::InvalidArgumentError(absl::StrCat(
      "'", name, "' is not a balancing policy: roundrobin, random, weighted or least_outstanding"));
}

Picker::Picker(Policy policy, uint64_t seed) : policy_(policy), random_(seed) {}

void Picker::Lease::Release() {
  if (slot_ == nullptr) return;  // empty, or moved from
  {
    std::lock_guard lock(picker_->mu_);
    --slot_->outstanding;
  }
  slot_.reset();
}

void Picker::Update(const std::vector<Endpoint>& endpoints) {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Slot>> next;
  for (const Endpoint& e : endpoints) {
    auto kept = std::find_if(slots_.begin(), slots_.end(), [&](auto& s) { return s->endpoint == e; });
    next.push_back(kept != slots_.end() ? *kept : std::make_shared<Slot>(Slot{e}));
  }
  slots_ = std::move(next);
}

Picker::Lease Picker::Pick() {
  std::lock_guard lock(mu_);
  if (slots_.empty()) return Lease();
  const size_t n = slots_.size();
  size_t pick = 0;
  switch (policy_) {
    case Policy::kRoundRobin:
      pick = next_++ % n;
      break;
    case Policy::kRandom:
      pick = std::uniform_int_distribution<size_t>(0, n - 1)(random_);
      break;
    case Policy::kWeighted: {
      double total = 0;
      for (size_t i = 0; i < n; ++i) {
        slots_[i]->current_weight += slots_[i]->endpoint.weight;
        total += slots_[i]->endpoint.weight;
        if (slots_[i]->current_weight > slots_[pick]->current_weight) pick = i;
      }
      slots_[pick]->current_weight -= total;
      break;
    }
    case Policy::kLeastOutstanding: {
      const size_t start = next_++;  // ties go in turn
      pick = start % n;
      for (size_t k = 1; k < n; ++k) {
        const size_t i = (start + k) % n;
        if (slots_[i]->outstanding < slots_[pick]->outstanding) pick = i;
      }
      break;
    }
  }
  ++slots_[pick]->outstanding;
  return Lease(this, slots_[pick]);
}

std::vector<Endpoint> Picker::Endpoints() const {
  std::lock_guard lock(mu_);
  std::vector<Endpoint> out;
  for (const auto& s : slots_) out.push_back(s->endpoint);
  return out;
}

}  // namespace agora::service::client
