// The registry in ZooKeeper (agora-master --zk). Layout under ROOT/registry:
//
//   agents/BUCKET/ID       one node per agent     {"hostname", "state", "since_us", "principal"}
//   frameworks/BUCKET/ID   one node per framework {"name", "role", "failover_timeout_ms", ...}
//   roles/NAME             one node per role      {"weight", "quota"}
//
// BUCKET is one of 64 (a hash of the id), so that no node has more children
// than one answer can carry (ZooKeeper's 1 MiB jute.maxbuffer) at 100,000
// agents: about 1,600 names of ~15 bytes each. Names outside [A-Za-z0-9._-]
// are %-escaped.
//
// A commit is one multi-op per chunk of at most kMaxOpsPerMulti writes and
// kMaxBytesPerMulti bytes, each beginning with a check that this master's
// election node exists (the fence: it is ephemeral, so it is gone with the
// session that made this master the leader). Records are independent and
// the last write wins, so chunks need not land together. A chunk whose
// answer was lost with the connection is sent again; a create that finds its
// node (it landed the first time) becomes a set.
#include <zookeeper/zookeeper.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status.h"
#include "master/buffered_registry.h"

namespace agora::master {
namespace {

constexpr int kBuckets = 64;
constexpr size_t kMaxOpsPerMulti = 1000;
constexpr size_t kMaxBytesPerMulti = 512 * 1024;
constexpr absl::Duration kRetryFor = absl::Seconds(30);

std::string Escape(absl::string_view id) {
  std::string out;
  for (char c : id) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || (c == '.' && !out.empty())) {
      out += c;
    } else {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string Unescape(absl::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    int byte = 0;
    if (name[i] == '%' && i + 2 < name.size() && absl::SimpleHexAtoi(name.substr(i + 1, 2), &byte)) {
      out += static_cast<char>(byte);
      i += 2;
    } else {
      out += name[i];
    }
  }
  return out;
}

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

// One asynchronous call of a batch, filled in on the client's thread.
struct Slot {
  int rc = ZOK;
  std::string value;               // a get's data
  std::vector<std::string> names;  // a list's children
};

// Issues `issue(i, slot)` for every i < n, all in flight together, and waits
// until every call answered: one round trip for the batch instead of n.
// `issue` returns the client's code for the call itself and passes `slot` as
// its completion's data; the completion fills it in and calls Finished().
class InFlight {
 public:
  static std::vector<Slot> Run(size_t n, const std::function<int(size_t, const void*)>& issue) {
    InFlight batch(n);
    for (size_t i = 0; i < n; ++i) {
      const int rc = issue(i, &batch.calls_[i]);
      if (rc != ZOK) {  // refused at once: no completion will come
        batch.calls_[i].slot.rc = rc;
        batch.Finished();
      }
    }
    std::unique_lock<std::mutex> lock(batch.mu_);
    batch.cv_.wait(lock, [&] { return batch.pending_ == 0; });
    std::vector<Slot> out;
    for (Call& c : batch.calls_) out.push_back(std::move(c.slot));
    return out;
  }
  // Completion side: `data` is what `issue` was given.
  static Slot& SlotOf(const void* data) { return const_cast<Call*>(static_cast<const Call*>(data))->slot; }
  static void Done(const void* data) { static_cast<const Call*>(data)->self->Finished(); }

 private:
  struct Call {
    InFlight* self;
    size_t index;
    Slot slot;
  };
  explicit InFlight(size_t n) : calls_(n), pending_(n) {
    for (size_t i = 0; i < n; ++i) calls_[i] = Call{this, i, Slot()};
  }
  void Finished() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--pending_ == 0) cv_.notify_all();
  }
  std::vector<Call> calls_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t pending_;
};

void OnCreated(int rc, const char*, const void* data) {
  InFlight::SlotOf(data).rc = rc;
  InFlight::Done(data);
}
void OnRead(int rc, const char* value, int length, const struct Stat*, const void* data) {
  Slot& slot = InFlight::SlotOf(data);
  slot.rc = rc;
  if (rc == ZOK && value != nullptr && length > 0) slot.value.assign(value, length);
  InFlight::Done(data);
}
void OnListed(int rc, const struct String_vector* names, const void* data) {
  Slot& slot = InFlight::SlotOf(data);
  slot.rc = rc;
  if (rc == ZOK && names != nullptr) {
    for (int i = 0; i < names->count; ++i) slot.names.emplace_back(names->data[i]);
  }
  InFlight::Done(data);
}

class ZkRegistry final : public BufferedRegistry {
 public:
  ZkRegistry(zhandle_t* zh, std::string root, std::string fence, EventLoop* loop)
      : BufferedRegistry(loop), zh_(zh), root_(std::move(root)), fence_(std::move(fence)) {}
  ~ZkRegistry() override { StopWriter(); }

  // Creates the layout's fixed nodes, once per ensemble: the node `layout`
  // is made last, so a master that died half-way creates the rest again.
  absl::Status Init() {
    const std::string layout = root_ + "/layout";
    int rc = zoo_exists(zh_, layout.c_str(), 0, nullptr);
    if (rc == ZOK) return absl::OkStatus();
    if (rc != ZNONODE) return ZkError(rc, absl::StrCat("look for ", layout));
    rc = zoo_create(zh_, root_.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) return ZkError(rc, absl::StrCat("create ", root_));
    std::vector<std::string> paths;
    for (const char* kind : {"agents", "frameworks", "roles"}) paths.push_back(absl::StrCat(root_, "/", kind));
    for (const std::string& bucket : Buckets()) paths.push_back(bucket);
    paths.push_back(layout);
    // Parents before children: the kinds, then their buckets (in flight
    // together), then the marker.
    for (auto [begin, end] : {std::pair<size_t, size_t>{0, 3}, {3, paths.size() - 1},
                              {paths.size() - 1, paths.size()}}) {
        const std::vector<Slot> created = InFlight::Run(end - begin, [&](size_t i, const void* slot) {
        return zoo_acreate(zh_, paths[begin + i].c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, &OnCreated, slot);
      });
      for (size_t i = 0; i < created.size(); ++i) {
        if (created[i].rc != ZOK && created[i].rc != ZNODEEXISTS) {
          return ZkError(created[i].rc, absl::StrCat("create ", paths[begin + i]));
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  struct Node {
    std::string path;
    std::string value;
  };

  // Every record, read with all gets in flight at once.
  absl::StatusOr<RegistryState> Read() override {
    std::vector<std::string> parents = Buckets();
    parents.push_back(absl::StrCat(root_, "/roles"));
    const std::vector<Slot> lists = InFlight::Run(parents.size(), [&](size_t i, const void* slot) {
      return zoo_aget_children(zh_, parents[i].c_str(), 0, &OnListed, slot);
    });
    std::vector<std::pair<std::string, std::string>> records;  // kind, name
    std::vector<std::string> paths;
    for (size_t p = 0; p < parents.size(); ++p) {
      if (lists[p].rc != ZOK) return ZkError(lists[p].rc, absl::StrCat("list ", parents[p]));
      const std::string kind = parents[p].substr(root_.size() + 1, parents[p].find('/', root_.size() + 1) - root_.size() - 1);
      for (const std::string& name : lists[p].names) {
        records.emplace_back(kind, name);
        paths.push_back(absl::StrCat(parents[p], "/", name));
      }
    }
    const std::vector<Slot> values = InFlight::Run(paths.size(), [&](size_t i, const void* slot) {
      return zoo_aget(zh_, paths[i].c_str(), 0, &OnRead, slot);
    });
    RegistryState state;
    for (size_t i = 0; i < paths.size(); ++i) {
      if (values[i].rc != ZOK) return ZkError(values[i].rc, absl::StrCat("read ", paths[i]));
      try {
        AddRecord(state, records[i].first, Unescape(records[i].second), nlohmann::json::parse(values[i].value));
      } catch (const nlohmann::json::exception& e) {
        return absl::DataLossError(
            absl::StrCat("registry node ", paths[i], " holds what no master wrote: ", e.what()));
      }
      existing_.insert(paths[i]);
    }
    return state;
  }

  absl::Status Write(const RegistryWrites& writes) override {
    std::vector<Node> nodes;
    auto add = [&](const char* kind, const std::string& id, const nlohmann::json& value) {
      Node node;
      node.path = std::string(kind) == "roles"
                      ? absl::StrCat(root_, "/roles/", Escape(id))
                      : absl::StrCat(root_, "/", kind, "/", Bucket(id), "/", Escape(id));
      node.value = value.dump();
      nodes.push_back(std::move(node));
    };
    for (const auto& [id, a] : writes.agents) add("agents", id, AgentJson(a));
    for (const auto& [id, f] : writes.frameworks) add("frameworks", id, FrameworkJson(f));
    for (const auto& [name, r] : writes.roles) add("roles", name, RoleJson(r));
    size_t begin = 0;
    while (begin < nodes.size()) {
      size_t end = begin, bytes = 0;
      while (end < nodes.size() && end - begin < kMaxOpsPerMulti &&
             (end == begin || bytes + nodes[end].value.size() + nodes[end].path.size() <= kMaxBytesPerMulti)) {
        bytes += nodes[end].value.size() + nodes[end].path.size();
        ++end;
      }
      AGORA_RETURN_IF_ERROR(WriteChunk(nodes, begin, end));
      begin = end;
    }
    return absl::OkStatus();
  }

  // nodes[begin, end) in one fenced multi-op, sent again while the answer is lost.
  absl::Status WriteChunk(const std::vector<Node>& nodes, size_t begin, size_t end) {
    std::vector<bool> create(end - begin);
    for (size_t i = begin; i < end; ++i) create[i - begin] = !existing_.contains(nodes[i].path);
    const absl::Time give_up = absl::Now() + kRetryFor;
    bool resent = false;  // an earlier attempt's answer was lost: it may have landed
    for (;;) {
      std::vector<zoo_op_t> ops(end - begin + 1);
      std::vector<zoo_op_result_t> results(ops.size());
      zoo_check_op_init(&ops[0], fence_.c_str(), -1);
      for (size_t i = begin; i < end; ++i) {
        const Node& n = nodes[i];
        if (create[i - begin]) {
          zoo_create_op_init(&ops[i - begin + 1], n.path.c_str(), n.value.data(),
                             static_cast<int>(n.value.size()), &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
        } else {
          zoo_set_op_init(&ops[i - begin + 1], n.path.c_str(), n.value.data(),
                          static_cast<int>(n.value.size()), -1, nullptr);
        }
      }
      const int rc = zoo_multi(zh_, static_cast<int>(ops.size()), ops.data(), results.data());
      if (rc == ZOK) {
        for (size_t i = begin; i < end; ++i) existing_.insert(nodes[i].path);
        return absl::OkStatus();
      }
      if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT) {
        // Unknown whether it landed: the session may still live (the client
        // is finding another server); send it again until it expires.
        if (zoo_state(zh_) == ZOO_EXPIRED_SESSION_STATE || absl::Now() > give_up) {
          return ZkError(rc, "commit");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the writer thread's own
        resent = true;
        continue;
      }
      if (results[0].err == ZNONODE) {
        return absl::FailedPreconditionError(absl::StrCat(
            "registry commit fenced: this master's election node ", fence_,
            " is gone, so it no longer leads and may not write"));
      }
      for (size_t i = 0; i < results.size(); ++i) {
        if (results[i].err == ZOK || results[i].err == ZRUNTIMEINCONSISTENCY) continue;
        // A multi-op is atomic, and only this leader writes: a node one of
        // our creates finds after a lost answer means that attempt landed.
        if (resent && i > 0 && results[i].err == ZNODEEXISTS && create[i - 1]) {
          for (size_t j = begin; j < end; ++j) existing_.insert(nodes[j].path);
          return absl::OkStatus();
        }
        return ZkError(results[i].err, absl::StrCat("write ", i == 0 ? fence_ : nodes[begin + i - 1].path));
      }
      return ZkError(rc, "commit");
    }
  }

  // Every parent of records: ROOT/agents/00..3f, ROOT/frameworks/00..3f, ROOT/roles.
  std::vector<std::string> Buckets() const {
    std::vector<std::string> out;
    for (const char* kind : {"agents", "frameworks"}) {
      for (int b = 0; b < kBuckets; ++b) out.push_back(absl::StrFormat("%s/%s/%02x", root_, kind, b));
    }
    return out;
  }

  zhandle_t* const zh_;
  const std::string root_;
  const std::string fence_;
  absl::flat_hash_set<std::string> existing_;  // nodes known to exist; Read() and Write() only
};

}  // namespace

absl::StatusOr<std::unique_ptr<Registry>> OpenZkRegistry(zhandle_t* zh, std::string root,
                                                         std::string fence, EventLoop* loop) {
  auto registry = std::make_unique<ZkRegistry>(zh, std::move(root), std::move(fence), loop);
  AGORA_RETURN_IF_ERROR(registry->Init());
  return registry;
}

}  // namespace agora::master
