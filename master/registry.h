// Registry is the master's durable memory (DESIGN.md: "Persistence"): which
// agents were admitted, unreachable or gone, which frameworks exist with
// their role and failover timeout, or were removed, and the roles' weights
// and quotas operators set. Tasks are not stored:
// agents are their source of truth and re-report them.
//
// Writes are buffered and made durable together (group commit): the master
// starts a commit at the end of a loop turn with writes, and releases the
// answers that waited for them once it is durable. Called from the master's
// loop only; both registries commit on a writer thread of their own
// (DESIGN.md: blocking work goes to a helper thread): SQLite for a master
// alone, ZooKeeper for masters that elect a leader (--zk).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agora/resources.h"

namespace agora {
class EventLoop;
}
typedef struct _zhandle zhandle_t;  // <zookeeper/zookeeper.h>

namespace agora::master {

struct RegistryAgent {
  enum class State { kAdmitted, kUnreachable, kGone, kDraining, kDrained };
  std::string id;
  std::string hostname;
  State state = State::kAdmitted;
  absl::Time since;  // of the current state; for kDraining, the drain deadline
  std::string principal;  // secured masters: the key that registered it
};

struct RegistryFramework {
  std::string id;
  std::string name;
  std::string role;
  absl::Duration failover_timeout;
  bool removed = false;
  std::string principal;  // secured masters: the key that subscribed it
};

// A role as an operator set it (`agora role set`): it replaces the master's
// flags for that role.
struct RegistryRole {
  std::string name;
  double weight = 1;
  std::optional<Resources> quota;  // none: not capped
};

struct RegistryState {
  std::vector<RegistryAgent> agents;
  std::vector<RegistryFramework> frameworks;
  std::vector<RegistryRole> roles;
};

class Registry {
 public:
  virtual ~Registry() = default;
  // Everything committed so far.
  virtual absl::StatusOr<RegistryState> Recover() = 0;
  // Buffered until Commit(); a later put of the same id wins.
  virtual void PutAgent(const RegistryAgent& agent) = 0;
  virtual void PutFramework(const RegistryFramework& framework) = 0;
  virtual void PutRole(const RegistryRole& role) = 0;
  virtual bool HasPendingWrites() const = 0;
  // Writes everything buffered in one transaction and syncs it to disk.
  virtual absl::Status Commit() = 0;
  // Starts a Commit() of everything buffered so far; later writes are
  // buffered anew. `done` runs on the caller's loop once the commit is
  // durable or has failed (its writes are then dropped: the master exits).
  // By default: at once, before returning.
  virtual void CommitAsync(std::function<void(absl::Status)> done) { done(Commit()); }
};

// SQLite in WAL mode with synchronous=FULL at `path` (created if missing).
// With `loop`, CommitAsync() writes on a thread of the registry's own and
// posts `done` to `loop`, which must outlive the registry; without, it
// commits inline. Destruction finishes every commit started; writes still
// buffered are dropped, as in a crash (no answer that waited for them left).
absl::StatusOr<std::unique_ptr<Registry>> OpenSqliteRegistry(const std::string& path,
                                                             EventLoop* loop = nullptr);

// ZooKeeper (master/zk_registry.cc has the layout), under `root`
// (ROOT/registry), through the session `zh`, which must outlive the
// registry. Every commit is fenced by `fence`, the writer's election node: a
// master whose session ended (and with it its leadership) cannot write, and
// its commit fails with FailedPrecondition. A commit whose answer was lost
// with the connection is sent again until the session expires.
absl::StatusOr<std::unique_ptr<Registry>> OpenZkRegistry(zhandle_t* zh, std::string root,
                                                         std::string fence,
                                                         EventLoop* loop = nullptr);

}  // namespace agora::master
