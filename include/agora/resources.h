// Resources is the arithmetic of what agents have and tasks ask for: three
// scalars (cpus, mem and disk in MiB) kept in fixed point (1/1000 units, as
// Mesos does) so that sums and subsets are exact, and a set of port ranges.
// A value type; not thread-safe to mutate from several threads.
//
// Example:
//   auto total = Resources::Parse("cpus:4;mem:8192;ports:[31000-32000]");
//   Resources ask = Resources::Scalars(0.5, 128, 0);
//   if (total->Contains(ask)) { *total -= ask; }
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace agora {

struct PortRange {
  uint32_t begin = 0;
  uint32_t end = 0;  // inclusive
  bool operator==(const PortRange&) const = default;
};

// A normalized set of ports: sorted, disjoint, non-adjacent ranges.
class PortSet {
 public:
  PortSet() = default;
  // Accepts ranges in any order, overlapping or adjacent.
  explicit PortSet(std::vector<PortRange> ranges);

  const std::vector<PortRange>& ranges() const { return ranges_; }
  bool empty() const { return ranges_.empty(); }
  uint64_t size() const;
  bool Contains(const PortSet& other) const;
  bool Contains(uint32_t port) const;
  PortSet& operator+=(const PortSet& other);
  // Precondition-free: removes what is present, ignores what is not.
  PortSet& operator-=(const PortSet& other);
  // The lowest `count` ports, or fewer when the set is smaller.
  PortSet Take(uint64_t count) const;
  std::vector<uint32_t> Expand() const;
  std::string ToString() const;  // "[31000-31002,31005-31005]"
  bool operator==(const PortSet&) const = default;

 private:
  void Normalize();
  std::vector<PortRange> ranges_;
};

class Resources {
 public:
  static constexpr int64_t kScale = 1000;
  // The most of one scalar a Resources holds (larger values are clamped): a
  // billion cpus, MiB or MiB of disk, so that sums over a million agents
  // still fit the fixed point.
  static constexpr double kMaxScalar = 1e9;

  Resources() = default;
  static Resources Scalars(double cpus, double mem, double disk);
  // Parses "cpus:4;mem:8192;disk:20000;ports:[31000-32000,33000-33010]".
  // Unknown names, negative or non-numeric values and malformed ranges are
  // errors naming the offending part.
  static absl::StatusOr<Resources> Parse(absl::string_view text);

  double cpus() const { return static_cast<double>(cpus_) / kScale; }
  double mem() const { return static_cast<double>(mem_) / kScale; }
  double disk() const { return static_cast<double>(disk_) / kScale; }
  int64_t cpus_milli() const { return cpus_; }
  int64_t mem_milli() const { return mem_; }
  int64_t disk_milli() const { return disk_; }
  const PortSet& ports() const { return ports_; }

  void set_cpus(double v);
  void set_mem(double v);
  void set_disk(double v);
  void set_ports(PortSet ports) { ports_ = std::move(ports); }

  bool empty() const { return cpus_ == 0 && mem_ == 0 && disk_ == 0 && ports_.empty(); }
  bool HasScalars() const { return cpus_ > 0 || mem_ > 0 || disk_ > 0; }
  bool Contains(const Resources& other) const;
  Resources& operator+=(const Resources& other);
  // Scalars clamp at zero; ports not present are ignored.
  Resources& operator-=(const Resources& other);
  Resources operator+(const Resources& o) const { Resources r = *this; r += o; return r; }
  Resources operator-(const Resources& o) const { Resources r = *this; r -= o; return r; }
  bool operator==(const Resources&) const = default;

  // "cpus:4;mem:8192;disk:0;ports:[31000-32000]" (round-trips through Parse).
  std::string ToString() const;
  // Names what `*this` lacks to contain `ask`, e.g. "cpus: asked 2, have 1".
  std::string Shortfall(const Resources& ask) const;

 private:
  int64_t cpus_ = 0;
  int64_t mem_ = 0;
  int64_t disk_ = 0;
  PortSet ports_;
};

}  // namespace agora
