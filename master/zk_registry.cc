// The registry in ZooKeeper (agora-master --zk). Layout under ROOT/registry:
//
//   agents/BUCKET       {"AGENT_ID": {"hostname", "state", "since_us", "principal"}, ...}
//   frameworks/BUCKET   {"FRAMEWORK_ID": {"name", "role", "failover_timeout_ms", ...}, ...}
//   roles               {"ROLE": {"weight", "quota"}, ...}
//   layout              "1", the layout's version; made last by the first master: the rest exists
//
// Records are packed into 256 buckets per kind (a stable hash of the id), so
// that a newly elected master reads the registry back with about 500 reads
// however many agents there are: at 100,000 agents a bucket holds about 400
// records, 60 KB, far under ZooKeeper's 1 MiB per node (jute.maxbuffer). The
// registry keeps every bucket in memory; a commit sets each bucket it
// touched, whole.
//
// A commit is one multi-op per chunk of at most kMaxOpsPerMulti buckets and
// kMaxBytesPerMulti bytes, each beginning with a check that this master's
// election node exists (the fence: it is ephemeral, so it is gone with the
// session that made this master the leader). Buckets are independent and
// a set is idempotent, so chunks need not land together, and a chunk whose
// answer was lost with the connection is simply sent again.
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status.h"
#include "master/buffered_registry.h"
#include "master/zk_in_flight.h"

namespace agora::master {
namespace {

constexpr int kBuckets = 256;
constexpr char kLayoutVersion[] = "1";  // what ROOT/layout holds: a master refuses any other
constexpr size_t kMaxOpsPerMulti = 1000;
constexpr size_t kMaxBytesPerMulti = 512 * 1024;
constexpr size_t kMaxBucketBytes = 1000 * 1024;  // under ZooKeeper's 1 MiB
constexpr absl::Duration kRetryFor = absl::Seconds(30);  // a commit resent, a batch of reads awaited

std::string Bucket(absl::string_view id) {
  uint32_t hash = 2166136261u;  // FNV-1a: stable across builds and machines
  for (char c : id) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  return absl::StrFormat("%02x", hash % kBuckets);
}

absl::Status ZkError(int rc, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("registry ", what, ": ZooKeeper says ", zerror(rc)));
}

nlohmann::json AgentJson(const RegistryAgent& a) {
  return {{"hostname", a.hostname},
          {"state", static_cast<int>(a.state)},
          {"since_us", absl::ToUnixMicros(a.since)},
          {"principal", a.principal}};
}
nlohmann::json FrameworkJson(const RegistryFramework& f) {
  return {{"name", f.name},
          {"role", f.role},
          {"failover_timeout_ms", absl::ToInt64Milliseconds(f.failover_timeout)},
          {"removed", f.removed},
          {"principal", f.principal}};
}
nlohmann::json RoleJson(const RegistryRole& r) {
  nlohmann::json quota = nullptr;
  if (r.quota) quota = {{"cpus", r.quota->cpus()}, {"mem", r.quota->mem()}, {"disk", r.quota->disk()}};
  return {{"weight", r.weight}, {"quota", quota}};
}

// One node's value read back; throws nlohmann::json::exception on a value
// that is not what we wrote (caught in Read()).
void AddRecord(RegistryState& state, const std::string& kind, std::string id, const nlohmann::json& j) {
  if (kind == "agents") {
    RegistryAgent a;
    a.id = std::move(id);
    a.hostname = j.at("hostname").get<std::string>();
    a.state = static_cast<RegistryAgent::State>(j.at("state").get<int>());
    a.since = absl::FromUnixMicros(j.at("since_us").get<int64_t>());
    a.principal = j.at("principal").get<std::string>();
    state.agents.push_back(std::move(a));
  } else if (kind == "frameworks") {
    RegistryFramework f;
    f.id = std::move(id);
    f.name = j.at("name").get<std::string>();
    f.role = j.at("role").get<std::string>();
    f.failover_timeout = absl::Milliseconds(j.at("failover_timeout_ms").get<int64_t>());
    f.removed = j.at("removed").get<bool>();
    f.principal = j.at("principal").get<std::string>();
    state.frameworks.push_back(std::move(f));
  } else {
    RegistryRole r;
    r.name = std::move(id);
    r.weight = j.at("weight").get<double>();
    const nlohmann::json& q = j.at("quota");
    if (!q.is_null()) {
      r.quota = Resources::Scalars(q.at("cpus").get<double>(), q.at("mem").get<double>(),
                                   q.at("disk").get<double>());
    }
    state.roles.push_back(std::move(r));
  }
}

void OnCreated(int rc, const char*, const void* data) { ZkInFlight::Answer(data, rc); }
void OnRead(int rc, const char* value, int length, const struct Stat*, const void* data) {
  ZkInFlight::Answer(data, rc, value, length);
}

class ZkRegistry final : public BufferedRegistry {
 public:
  ZkRegistry(zhandle_t* zh, std::string root, std::string fence, EventLoop* loop)
      : BufferedRegistry(loop), zh_(zh), root_(std::move(root)), fence_(std::move(fence)) {}
  ~ZkRegistry() override { StopWriter(); }

  // Creates the layout's nodes, once per ensemble: `layout` is made last,
  // so a master that died half-way creates the rest again.
  absl::Status Init() {
    const std::string layout = root_ + "/layout";
    char version[16];
    int length = sizeof(version);
    int rc = zoo_get(zh_, layout.c_str(), 0, version, &length, nullptr);
    if (rc == ZOK) {
      const std::string found(version, std::max(length, 0));
      // Empty: made before the marker held the version, of this same layout.
      if (found == kLayoutVersion || found.empty()) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat("the registry at ", root_, " has layout version \"", found,
                                                        "\"; this master reads version ", kLayoutVersion));
    }
    if (rc != ZNONODE) return ZkError(rc, absl::StrCat("look for ", layout));
    // Parents before children: the root, the kinds, the buckets (in flight
    // together), then the marker.
    const std::vector<std::vector<std::string>> levels = {
        {root_}, {root_ + "/agents", root_ + "/frameworks"}, Buckets(), {layout}};
    for (size_t level = 0; level < levels.size(); ++level) {
      const std::vector<std::string>& paths = levels[level];
      // Buckets hold records, the marker the layout's version; the rest nothing.
      const char* value = level == 2 ? "{}" : level == 3 ? kLayoutVersion : "";
      const std::vector<ZkSlot> created = ZkInFlight::Run(paths.size(), kRetryFor, [&](size_t i, const void* slot) {
        return zoo_acreate(zh_, paths[i].c_str(), value, static_cast<int>(std::strlen(value)),
                           &ZOO_OPEN_ACL_UNSAFE, 0, &OnCreated, slot);
      });
      for (size_t i = 0; i < created.size(); ++i) {
        if (created[i].rc != ZOK && created[i].rc != ZNODEEXISTS) {
          return ZkError(created[i].rc, absl::StrCat("create ", paths[i]));
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  // Every bucket, read with all gets in flight at once.
  absl::StatusOr<RegistryState> Read() override {
    const std::vector<std::string> paths = Buckets();
    const std::vector<ZkSlot> values = ZkInFlight::Run(paths.size(), kRetryFor, [&](size_t i, const void* slot) {
      return zoo_aget(zh_, paths[i].c_str(), 0, &OnRead, slot);
    });
    RegistryState state;
    buckets_.clear();
    for (size_t i = 0; i < paths.size(); ++i) {
      if (values[i].rc != ZOK) return ZkError(values[i].rc, absl::StrCat("read ", paths[i]));
      const std::string kind = KindOf(paths[i]);
      std::map<std::string, std::string>& bucket = buckets_[paths[i]];
      try {
        const nlohmann::json records = nlohmann::json::parse(values[i].value);
        for (const auto& [id, record] : records.items()) {
          AddRecord(state, kind, id, record);
          bucket[id] = record.dump();
        }
      } catch (const nlohmann::json::exception& e) {
        return absl::DataLossError(
            absl::StrCat("registry node ", paths[i], " holds what no master wrote: ", e.what()));
      }
    }
    return state;
  }

  absl::Status Write(const RegistryWrites& writes) override {
    std::set<std::string> touched;
    auto put = [&](const std::string& path, const std::string& id, const nlohmann::json& record) {
      buckets_[path][id] = record.dump();
      touched.insert(path);
    };
    for (const auto& [id, a] : writes.agents) put(BucketPath("agents", id), id, AgentJson(a));
    for (const auto& [id, f] : writes.frameworks) put(BucketPath("frameworks", id), id, FrameworkJson(f));
    for (const auto& [name, r] : writes.roles) put(root_ + "/roles", name, RoleJson(r));
    std::vector<std::pair<std::string, std::string>> nodes;  // path, value
    for (const std::string& path : touched) {
      std::string value = "{";
      for (const auto& [id, record] : buckets_[path]) {
        absl::StrAppend(&value, value.size() > 1 ? "," : "", nlohmann::json(id).dump(), ":", record);
      }
      value += "}";
      if (value.size() > kMaxBucketBytes) {
        return absl::ResourceExhaustedError(absl::StrCat("registry node ", path, " would hold ", value.size(),
                                                         " bytes, more than ZooKeeper takes"));
      }
      nodes.emplace_back(path, std::move(value));
    }
    size_t begin = 0;
    while (begin < nodes.size()) {
      size_t end = begin, bytes = 0;
      while (end < nodes.size() && end - begin < kMaxOpsPerMulti &&
             (end == begin || bytes + nodes[end].second.size() <= kMaxBytesPerMulti)) {
        bytes += nodes[end].second.size();
        ++end;
      }
      AGORA_RETURN_IF_ERROR(WriteChunk(nodes, begin, end));
      begin = end;
    }
    return absl::OkStatus();
  }

  // nodes[begin, end) in one fenced multi-op, sent again while the answer is
  // lost (a set is idempotent) until the session expires.
  absl::Status WriteChunk(const std::vector<std::pair<std::string, std::string>>& nodes, size_t begin,
                          size_t end) {
    const absl::Time give_up = absl::Now() + kRetryFor;
    for (;;) {
      std::vector<zoo_op_t> ops(end - begin + 1);
      std::vector<zoo_op_result_t> results(ops.size());
      zoo_check_op_init(&ops[0], fence_.c_str(), -1);
      for (size_t i = begin; i < end; ++i) {
        zoo_set_op_init(&ops[i - begin + 1], nodes[i].first.c_str(), nodes[i].second.data(),
                        static_cast<int>(nodes[i].second.size()), -1, nullptr);
      }
      const int rc = zoo_multi(zh_, static_cast<int>(ops.size()), ops.data(), results.data());
      if (rc == ZOK) return absl::OkStatus();
      if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT) {
        if (zoo_state(zh_) == ZOO_EXPIRED_SESSION_STATE || absl::Now() > give_up) {
          return ZkError(rc, "commit");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the writer thread's own
        continue;
      }
      if (results[0].err == ZNONODE) {
        return absl::FailedPreconditionError(absl::StrCat(
            "registry commit fenced: this master's election node ", fence_,
            " is gone, so it no longer leads and may not write"));
      }
      for (size_t i = 1; i < results.size(); ++i) {
        if (results[i].err != ZOK && results[i].err != ZRUNTIMEINCONSISTENCY) {
          return ZkError(results[i].err, absl::StrCat("write ", nodes[begin + i - 1].first));
        }
      }
      return ZkError(rc, "commit");
    }
  }

  // Every node records live in: ROOT/agents/00..ff, ROOT/frameworks/00..ff, ROOT/roles.
  std::vector<std::string> Buckets() const {
    std::vector<std::string> out;
    for (const char* kind : {"agents", "frameworks"}) {
      for (int b = 0; b < kBuckets; ++b) out.push_back(absl::StrFormat("%s/%s/%02x", root_, kind, b));
    }
    out.push_back(root_ + "/roles");
    return out;
  }
  std::string BucketPath(const char* kind, const std::string& id) const {
    return absl::StrCat(root_, "/", kind, "/", Bucket(id));
  }
  // "agents", "frameworks" or "roles", from a node's path.
  std::string KindOf(const std::string& path) const {
    const std::string rest = path.substr(root_.size() + 1);
    return rest.substr(0, rest.find('/'));
  }

  zhandle_t* const zh_;
  const std::string root_;
  const std::string fence_;
  // Every bucket's records (id -> JSON text), as last read or written; Read()
  // and Write() only.
  std::map<std::string, std::map<std::string, std::string>> buckets_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Registry>> OpenZkRegistry(zhandle_t* zh, std::string root,
                                                         std::string fence, EventLoop* loop) {
  auto registry = std::make_unique<ZkRegistry>(zh, std::move(root), std::move(fence), loop);
  AGORA_RETURN_IF_ERROR(registry->Init());
  return registry;
}

}  // namespace agora::master
