// MasterElection is one master's candidacy among the masters of a cluster
// run with --zk (DESIGN.md: "High availability"). It contends with an
// ephemeral sequential node ROOT/masters/m-GUID-SEQ holding its LeaderInfo;
// the lowest sequence leads (common/leader_detector.h).
//
// Leading ends only with the process. The moment a leader loses its
// connection to ZooKeeper, or ZooKeeper's leader has not confirmed its
// session lately (its server may be cut off from the rest of the ensemble
// and still answer pings), it pauses (`on_paused`): it reads nothing and
// sends nothing, since it cannot know whether its session still lives. The
// client reports a lost connection a third of the session timeout before the
// ensemble can expire the session (two thirds without an answer against the
// whole timeout without hearing from it), so it pauses before any other
// master can be elected. Reconnected within a third of the session timeout,
// its session (and so its node and its leadership) intact, it resumes; if
// not, or once its session expired or another master leads, it calls
// `on_deposed` and the caller exits (as Mesos does; its supervisor starts
// it again as a candidate). Its registry writes are fenced by its node as
// well (master/registry.h), so even a master that stopped late cannot
// write. A candidate that is not leading and whose session expired contends
// again with a new session.
//
// A create whose answer was lost with the connection may have succeeded:
// once connected, a sync brings the server up to date and the GUID in the
// name finds the node. Each session has a GUID of its own, so a node found by
// it is this session's (an ephemeral node dies with the session that made
// it). A standby whose node vanished while its session lives (deleted by
// hand) contends again. Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/leader_detector.h"
#include "common/zookeeper.h"

namespace agora::master {

class MasterElection {
 public:
  struct Callbacks {
    std::function<void()> on_elected;
    std::function<void(const std::string& why)> on_deposed;
    // A leader lost its connection (true) or has it back, same session (false).
    std::function<void(bool paused)> on_paused;
    // Any change of who leads (this master too), for standbys' redirects.
    std::function<void(const std::optional<LeaderInfo>& leader)> on_leader;
  };

  MasterElection(EventLoop& loop, ZkUrl url, absl::Duration session_timeout, LeaderInfo self,
                 Callbacks callbacks);
  ~MasterElection();  // its timers go with it; its session closes (its node goes)
  // Starts contending.
  absl::Status Start();

  bool leading() const { return leading_; }
  // Leading, and out of touch with ZooKeeper (see above).
  bool paused() const { return disconnected_timer_ != 0; }
  absl::Time elected_at() const { return elected_at_; }
  const std::optional<LeaderInfo>& leader() const { return detector_->leader(); }
  // This candidate's node (the registry's fence); empty until it is created.
  std::string node_path() const;
  ZkSession& session() { return *session_; }

 private:
  void OnEvent(ZkEvent event, const std::string& path);
  // Finds or creates this session's node; the steps:
  void Contend();
  void CreateNode(int64_t session);
  void Contending(std::string node, int64_t session);
  void ContendFailed(int rc, absl::string_view what);
  // A standby whose node vanished (its session alive) contends again.
  void OnListed(const std::vector<std::string>& names);
  // A leader without ZooKeeper: paused at once, deposed after the grace
  // unless Resume()d.
  void Pause(const std::string& why);
  void Resume(const std::string& why);
  // Leading needs the ensemble's leader to confirm the session: a sync every
  // sixth of the session timeout; one answered renews the lease to half the
  // timeout after it was sent. A lease run out pauses (seen within a sixth),
  // so a leader acts at most two thirds of the timeout after its last
  // confirmed sync.
  absl::Duration Lease() const;
  void RenewLease();
  void OnLeader(const std::optional<LeaderInfo>& leader);
  void Depose(const std::string& why);

  EventLoop& loop_;
  LeaderInfo self_;
  Callbacks callbacks_;
  std::unique_ptr<ZkSession> session_;
  std::unique_ptr<LeaderDetector> detector_;
  std::string guid_;            // of the current session's candidacy: new with each session
  std::string node_;            // its node's name, once created
  int64_t node_session_ = 0;    // the session that created node_
  bool creating_ = false;
  bool leading_ = false;
  absl::Time elected_at_ = absl::InfinitePast();
  EventLoop::TimerId disconnected_timer_ = 0;  // while paused: until deposed
  EventLoop::TimerId lease_timer_ = 0;
  EventLoop::TimerId retry_timer_ = 0;  // contending again after an error
  absl::Time lease_until_ = absl::InfinitePast();
  bool syncing_ = false;
};

}  // namespace agora::master
