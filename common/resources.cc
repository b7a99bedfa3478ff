#include "agora/resources.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace agora {
namespace {

// Clamped to [0, kMaxScalar] first: a huge value must not overflow the fixed
// point (found by the master's fuzzer: 1e300 cpus became a negative count).
int64_t ToMilli(double v) {
  if (!(v > 0)) return 0;  // also NaN
  return static_cast<int64_t>(std::llround(std::min(v, Resources::kMaxScalar) * Resources::kScale));
}

std::string FormatMilli(int64_t v) {
  if (v % Resources::kScale == 0) return absl::StrCat(v / Resources::kScale);
  std::string s = absl::StrCat(static_cast<double>(v) / Resources::kScale);
  return s;
}

absl::StatusOr<PortSet> ParsePorts(absl::string_view text) {
  absl::string_view body = text;
  if (!absl::ConsumePrefix(&body, "[") || !absl::ConsumeSuffix(&body, "]")) {
    return absl::InvalidArgumentError(
        absl::StrCat("ports must look like [31000-32000], got '", text, "'"));
  }
  std::vector<PortRange> ranges;
  if (body.empty()) return PortSet();
  for (absl::string_view part : absl::StrSplit(body, ',')) {
    part = absl::StripAsciiWhitespace(part);
    std::vector<absl::string_view> ends = absl::StrSplit(part, absl::MaxSplits('-', 1));
    uint32_t begin = 0, end = 0;
    if (!absl::SimpleAtoi(ends[0], &begin) ||
        !absl::SimpleAtoi(ends.size() == 2 ? ends[1] : ends[0], &end) || begin > end ||
        end > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad port range '", part, "': want BEGIN-END with 0 <= BEGIN <= END <= 65535"));
    }
    ranges.push_back({begin, end});
  }
  return PortSet(std::move(ranges));
}

}  // namespace

PortSet::PortSet(std::vector<PortRange> ranges) : ranges_(std::move(ranges)) { Normalize(); }

void PortSet::Normalize() {
  std::sort(ranges_.begin(), ranges_.end(),
            [](const PortRange& a, const PortRange& b) { return a.begin < b.begin; });
  std::vector<PortRange> merged;
  for (const PortRange& r : ranges_) {
    if (!merged.empty() && static_cast<uint64_t>(merged.back().end) + 1 >= r.begin) {
      merged.back().end = std::max(merged.back().end, r.end);
    } else {
      merged.push_back(r);
    }
  }
  ranges_ = std::move(merged);
}

uint64_t PortSet::size() const {
  uint64_t n = 0;
  for (const PortRange& r : ranges_) n += uint64_t{r.end} - r.begin + 1;
  return n;
}

bool PortSet::Contains(uint32_t port) const {
  for (const PortRange& r : ranges_) {
    if (port >= r.begin && port <= r.end) return true;
  }
  return false;
}

bool PortSet::Contains(const PortSet& other) const {
  // Both sides are sorted and merged: every range of `other` must fall inside
  // one range of ours.
  size_t i = 0;
  for (const PortRange& o : other.ranges_) {
    while (i < ranges_.size() && ranges_[i].end < o.begin) ++i;
    if (i == ranges_.size() || ranges_[i].begin > o.begin || ranges_[i].end < o.end) return false;
  }
  return true;
}

PortSet& PortSet::operator+=(const PortSet& other) {
  if (other.empty()) return *this;
  ranges_.insert(ranges_.end(), other.ranges_.begin(), other.ranges_.end());
  Normalize();
  return *this;
}

PortSet& PortSet::operator-=(const PortSet& other) {
  if (other.empty() || empty()) return *this;
  std::vector<PortRange> out;
  for (PortRange r : ranges_) {
    bool alive = true;
    for (const PortRange& o : other.ranges_) {
      if (o.end < r.begin || o.begin > r.end) continue;
      if (o.begin > r.begin) out.push_back({r.begin, o.begin - 1});
      if (o.end >= r.end) {
        alive = false;
        break;
      }
      r.begin = o.end + 1;
    }
    if (alive) out.push_back(r);
  }
  ranges_ = std::move(out);
  Normalize();
  return *this;
}

PortSet PortSet::Take(uint64_t count) const {
  std::vector<PortRange> out;
  for (const PortRange& r : ranges_) {
    if (count == 0) break;
    uint64_t n = std::min<uint64_t>(count, uint64_t{r.end} - r.begin + 1);
    out.push_back({r.begin, static_cast<uint32_t>(r.begin + n - 1)});
    count -= n;
  }
  return PortSet(std::move(out));
}

std::vector<uint32_t> PortSet::Expand() const {
  std::vector<uint32_t> out;
  for (const PortRange& r : ranges_) {
    for (uint64_t p = r.begin; p <= r.end; ++p) out.push_back(static_cast<uint32_t>(p));
  }
  return out;
}

std::string PortSet::ToString() const {
  return absl::StrCat("[",
                      absl::StrJoin(ranges_, ",",
                                    [](std::string* out, const PortRange& r) {
                                      absl::StrAppend(out, r.begin, "-", r.end);
                                    }),
                      "]");
}

Resources Resources::Scalars(double cpus, double mem, double disk) {
  Resources r;
  r.set_cpus(cpus);
  r.set_mem(mem);
  r.set_disk(disk);
  return r;
}

void Resources::set_cpus(double v) { cpus_ = ToMilli(v); }
void Resources::set_mem(double v) { mem_ = ToMilli(v); }
void Resources::set_disk(double v) { disk_ = ToMilli(v); }

absl::StatusOr<Resources> Resources::Parse(absl::string_view text) {
  Resources out;
  for (absl::string_view item : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    std::vector<absl::string_view> kv = absl::StrSplit(item, absl::MaxSplits(':', 1));
    if (kv.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("resource '", item, "' is not NAME:VALUE"));
    }
    absl::string_view name = absl::StripAsciiWhitespace(kv[0]);
    absl::string_view value = absl::StripAsciiWhitespace(kv[1]);
    if (name == "ports") {
      auto ports = ParsePorts(value);
      if (!ports.ok()) return ports.status();
      out.ports_ = *std::move(ports);
      continue;
    }
    double v = 0;
    if (!absl::SimpleAtod(value, &v) || !std::isfinite(v) || v < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "resource '", name, "' wants a non-negative number, got '", value, "'"));
    }
    if (v > kMaxScalar) {
      return absl::InvalidArgumentError(
          absl::StrCat("resource '", name, "' is over the limit of ", kMaxScalar, ", got '", value, "'"));
    }
    if (name == "cpus") out.set_cpus(v);
    else if (name == "mem") out.set_mem(v);
    else if (name == "disk") out.set_disk(v);
    else
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown resource '", name, "' (known: cpus, mem, disk, ports)"));
  }
  return out;
}

bool Resources::Contains(const Resources& o) const {
  return cpus_ >= o.cpus_ && mem_ >= o.mem_ && disk_ >= o.disk_ && ports_.Contains(o.ports_);
}

Resources& Resources::operator+=(const Resources& o) {
  cpus_ += o.cpus_;
  mem_ += o.mem_;
  disk_ += o.disk_;
  ports_ += o.ports_;
  return *this;
}

Resources& Resources::operator-=(const Resources& o) {
  cpus_ = std::max<int64_t>(0, cpus_ - o.cpus_);
  mem_ = std::max<int64_t>(0, mem_ - o.mem_);
  disk_ = std::max<int64_t>(0, disk_ - o.disk_);
  ports_ -= o.ports_;
  return *this;
}

std::string Resources::ToString() const {
  std::string s = absl::StrCat("cpus:", FormatMilli(cpus_), ";mem:", FormatMilli(mem_),
                               ";disk:", FormatMilli(disk_));
  if (!ports_.empty()) absl::StrAppend(&s, ";ports:", ports_.ToString());
  return s;
}

std::string Resources::Shortfall(const Resources& ask) const {
  std::vector<std::string> parts;
  auto check = [&](const char* name, int64_t have, int64_t want) {
    if (want > have) {
      parts.push_back(absl::StrCat(name, ": asked ", FormatMilli(want), ", have ", FormatMilli(have)));
    }
  };
  check("cpus", cpus_, ask.cpus_);
  check("mem", mem_, ask.mem_);
  check("disk", disk_, ask.disk_);
  if (!ports_.Contains(ask.ports_)) {
    PortSet missing = ask.ports_;
    missing -= ports_;
    parts.push_back(absl::StrCat("ports: ", missing.ToString(), " not offered"));
  }
  return absl::StrJoin(parts, "; ");
}

}  // namespace agora
