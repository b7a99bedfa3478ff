#include "common/wire_convert.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace agora {

namespace {
// A non-finite or negative number on the wire becomes 0 rather than poison.
double Sane(double v) { return std::isfinite(v) && v > 0 ? v : 0; }
}  // namespace

Resources FromWire(wire::Resources::Reader r) {
  Resources out = Resources::Scalars(Sane(r.getCpus()), Sane(r.getMem()), Sane(r.getDisk()));
  if (r.hasPorts()) {
    std::vector<PortRange> ranges;
    for (auto p : r.getPorts()) {
      if (p.getBegin() <= p.getEnd() && p.getEnd() <= 65535) {
        ranges.push_back({p.getBegin(), p.getEnd()});
      }
    }
    out.set_ports(PortSet(std::move(ranges)));
  }
  return out;
}

absl::Status CheckWireResources(wire::Resources::Reader r, absl::string_view what) {
  for (auto [name, v] : {std::pair{"cpus", r.getCpus()}, {"mem", r.getMem()}, {"disk", r.getDisk()}}) {
    if (!std::isfinite(v) || v < 0 || v > Resources::kMaxScalar) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", name, " ", v,
                                                     " is not a number from 0 to ", Resources::kMaxScalar));
    }
  }
  if (r.getPorts().size() > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": more than 1024 port ranges"));
  }
  for (auto p : r.getPorts()) {
    if (p.getBegin() > p.getEnd() || p.getEnd() > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": port range ", p.getBegin(), "-", p.getEnd(), " is not within 0-65535"));
    }
  }
  return absl::OkStatus();
}

void ToWire(const Resources& r, wire::Resources::Builder out) {
  out.setCpus(r.cpus());
  out.setMem(r.mem());
  out.setDisk(r.disk());
  const auto& ranges = r.ports().ranges();
  if (ranges.empty()) return;
  auto ports = out.initPorts(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    ports[i].setBegin(ranges[i].begin);
    ports[i].setEnd(ranges[i].end);
  }
}

Env FromWire(capnp::List<wire::KeyValue>::Reader kvs) {
  Env out;
  out.reserve(kvs.size());
  for (auto kv : kvs) out.emplace_back(kv.getKey(), kv.getValue());
  return out;
}

void ToWire(const Env& kvs, capnp::List<wire::KeyValue>::Builder out) {
  for (size_t i = 0; i < kvs.size(); ++i) {
    out[i].setKey(kvs[i].first);
    out[i].setValue(kvs[i].second);
  }
}

TaskState FromWire(wire::TaskState s) {
  auto v = static_cast<int>(s);
  if (v < 0 || v >= kTaskStateCount) return TaskState::kError;
  return static_cast<TaskState>(v);
}

wire::TaskState ToWire(TaskState s) { return static_cast<wire::TaskState>(static_cast<int>(s)); }

std::vector<std::string> StringsFromWire(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (auto t : list) out.emplace_back(t);
  return out;
}

TaskSpec FromWire(wire::TaskSpec::Reader t) {
  TaskSpec out;
  out.task_id = t.getTaskId();
  out.name = t.getName();
  out.command = t.getCommand();
  out.resources = FromWire(t.getResources());
  out.env = FromWire(t.getEnv());
  out.port_names = StringsFromWire(t.getPortNames());
  out.kill_grace_period = absl::Milliseconds(t.getKillGracePeriodMs());
  out.files = FromWire(t.getFiles());
  out.user = t.getUser();
  out.pids_max = t.getPidsMax();
  if (t.hasHealthCheck()) {
    auto h = t.getHealthCheck();
    HealthCheck& c = out.health_check;
    c.kind = static_cast<HealthCheck::Kind>(h.getKind());
    c.command = h.getCommand();
    c.port = h.getPort();
    c.path = h.getPath();
    c.interval = absl::Milliseconds(h.getIntervalMs());
    c.timeout = absl::Milliseconds(h.getTimeoutMs());
    c.grace_period = absl::Milliseconds(h.getGracePeriodMs());
    c.max_failures = static_cast<int>(h.getMaxFailures());
  }
  return out;
}

void ToWire(const TaskSpec& t, wire::TaskSpec::Builder out) {
  out.setTaskId(t.task_id);
  out.setName(t.name);
  out.setCommand(t.command);
  ToWire(t.resources, out.initResources());
  if (!t.env.empty()) ToWire(t.env, out.initEnv(t.env.size()));
  if (!t.port_names.empty()) {
    auto names = out.initPortNames(t.port_names.size());
    for (size_t i = 0; i < t.port_names.size(); ++i) names.set(i, t.port_names[i]);
  }
  out.setKillGracePeriodMs(static_cast<uint32_t>(absl::ToInt64Milliseconds(t.kill_grace_period)));
  if (!t.files.empty()) ToWire(t.files, out.initFiles(t.files.size()));
  if (!t.user.empty()) out.setUser(t.user);
  out.setPidsMax(t.pids_max);
  if (t.health_check.kind != HealthCheck::Kind::kNone) {
    const HealthCheck& c = t.health_check;
    auto h = out.initHealthCheck();
    h.setKind(static_cast<wire::HealthCheck::Kind>(c.kind));
    h.setCommand(c.command);
    h.setPort(c.port);
    h.setPath(c.path);
    auto ms = [](absl::Duration d) { return static_cast<uint32_t>(absl::ToInt64Milliseconds(d)); };
    h.setIntervalMs(ms(c.interval));
    h.setTimeoutMs(ms(c.timeout));
    h.setGracePeriodMs(ms(c.grace_period));
    h.setMaxFailures(static_cast<uint32_t>(c.max_failures));
  }
}

TaskStatus FromWire(wire::TaskStatus::Reader s) {
  TaskStatus out;
  out.task_id = s.getTaskId();
  out.framework_id = s.getFrameworkId();
  out.agent_id = s.getAgentId();
  out.state = FromWire(s.getState());
  out.uuid = s.getUuid();
  out.message = s.getMessage();
  out.reason = s.getReason();
  out.exit_code = s.getExitCode();
  if (s.getHasHealth()) out.healthy = s.getHealthy();
  out.timestamp = absl::FromUnixMicros(s.getTimestampUs());
  return out;
}

void ToWire(const TaskStatus& s, wire::TaskStatus::Builder out) {
  out.setTaskId(s.task_id);
  out.setFrameworkId(s.framework_id);
  out.setAgentId(s.agent_id);
  out.setState(ToWire(s.state));
  out.setUuid(s.uuid);
  out.setMessage(s.message);
  out.setReason(s.reason);
  out.setExitCode(s.exit_code);
  out.setHasHealth(s.healthy.has_value());
  out.setHealthy(s.healthy.value_or(false));
  out.setTimestampUs(absl::ToUnixMicros(s.timestamp));
}

}  // namespace agora
