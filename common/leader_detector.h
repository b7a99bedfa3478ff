// Who leads the masters of a cluster run with --zk (DESIGN.md: "High
// availability"). Each master contends with an ephemeral sequential node
// ROOT/masters/m-GUID-SEQUENCE whose data is its LeaderInfo; the lowest
// sequence leads. LeaderDetector watches those nodes and reports each change
// of leader on the loop; FindLeader() asks once, for the command line.
//
// What a node says is only a hint: a client checks the master it reaches as
// it always does (a secured cluster's masters share one key pair, which
// clients already pin), so a forged node can redirect but not impersonate.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/sockets.h"
#include "common/zookeeper.h"

namespace agora {

struct LeaderInfo {
  std::string node;      // its election node's name, m-GUID-SEQUENCE
  std::string endpoint;  // ZeroMQ, tcp://HOST:PORT
  std::string http;      // http(s)://HOST:PORT
  std::string hostname;
  std::string version;
  bool operator==(const LeaderInfo&) const = default;
};

std::string LeaderInfoJson(const LeaderInfo& info);
// Reads a node's data; the node's name is not in it.
absl::StatusOr<LeaderInfo> ParseLeaderInfo(absl::string_view json, std::string node);

// The election's nodes: ROOT/masters, and a contender's name prefix.
std::string ElectionPath(const ZkUrl& url);
std::string ContenderPrefix(const std::string& guid);  // "m-GUID-"
// The name that leads among `names` (the lowest sequence; names not of the
// election's form are ignored), or nullopt when there is none.
std::optional<std::string> LowestContender(const std::vector<std::string>& names);

class LeaderDetector {
 public:
  // Runs on the loop thread: the new leader, or nullopt while there is none
  // (or ZooKeeper cannot be reached); called again only when it changes.
  using OnChange = std::function<void(const std::optional<LeaderInfo>& leader)>;

  // Follows the election under `session`'s root. The session is shared with
  // its owner (a contending master) or owned by a FollowedSession; the owner
  // forwards its events to OnEvent().
  LeaderDetector(EventLoop& loop, ZkSession& session, OnChange on_change);
  ~LeaderDetector();

  void OnEvent(ZkEvent event, const std::string& path);
  // Looks again now (a contender that just created its node).
  void Refresh() { List(); }
  // Also called with every listing of the election's nodes, on the loop
  // (a contender checks that its own node is still there).
  void set_on_listed(std::function<void(const std::vector<std::string>& names)> on_listed) {
    on_listed_ = std::move(on_listed);
  }
  const std::optional<LeaderInfo>& leader() const { return leader_; }

 private:
  void List();
  void Report(std::optional<LeaderInfo> leader);

  EventLoop& loop_;
  ZkSession& session_;
  OnChange on_change_;
  std::function<void(const std::vector<std::string>& names)> on_listed_;
  std::optional<LeaderInfo> leader_;
  EventLoop::TimerId retry_timer_ = 0;
  uint64_t generation_ = 0;  // answers to older List() calls are stale
};

// A LeaderDetector with a session of its own, for processes that follow the
// leader without contending (agents, frameworks): it reopens an expired
// session and carries on.
class LeaderFollower {
 public:
  static absl::StatusOr<std::unique_ptr<LeaderFollower>> Start(EventLoop& loop,
                                                                const std::string& zk_url,
                                                                LeaderDetector::OnChange on_change);
  const std::optional<LeaderInfo>& leader() const { return detector_->leader(); }
  bool connected() const { return session_->connected(); }

 private:
  LeaderFollower() = default;
  std::unique_ptr<ZkSession> session_;
  std::unique_ptr<LeaderDetector> detector_;
};

// Points `socket` at the master `address` names. A tcp:// or ipc://
// endpoint it keeps (and null is returned). For zk://, it connects the
// socket to whoever leads, moves it to each new leader and then calls
// `on_moved` (to register or subscribe again); while none leads, the socket
// stays with the last one. The socket must outlive the follower returned.
absl::StatusOr<std::unique_ptr<LeaderFollower>> FollowMaster(EventLoop& loop,
                                                             const std::string& address,
                                                             DealerSocket& socket,
                                                             std::function<void()> on_moved);

// Asks the ensemble once who leads (the command line). Unavailable, with the
// reason, when ZooKeeper does not answer or no master leads within `timeout`.
absl::StatusOr<LeaderInfo> FindLeader(const std::string& zk_url, absl::Duration timeout);

}  // namespace agora
