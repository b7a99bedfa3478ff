// MasterElection is one master's candidacy among the masters of a cluster
// run with --zk (DESIGN.md: "High availability"). It contends with an
// ephemeral sequential node ROOT/masters/m-GUID-SEQ holding its LeaderInfo;
// the lowest sequence leads (common/leader_detector.h).
//
// Leading ends only with the process: once elected, a master that loses its
// session, or its connection to ZooKeeper for longer than a third of the
// session timeout, or sees another master lead, calls `on_deposed` and the
// caller exits (as Mesos does; its supervisor starts it again as a
// candidate). A third is short enough: the connection is declared lost after
// two thirds of the timeout without an answer, and the ensemble expires the
// session only after the whole timeout without hearing from it, so this
// master stops before anyone else can be elected. Its registry writes are
// fenced by its node as well (master/registry.h), so even a master that
// stopped late cannot write. A candidate that is not leading and whose
// session expired contends again with a new session.
//
// A create whose answer was lost with the connection may have succeeded:
// the GUID in the name finds it again once connected. Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

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
    // Any change of who leads (this master too), for standbys' redirects.
    std::function<void(const std::optional<LeaderInfo>& leader)> on_leader;
  };

  MasterElection(EventLoop& loop, ZkUrl url, absl::Duration session_timeout, LeaderInfo self,
                 Callbacks callbacks);
  // Starts contending.
  absl::Status Start();

  bool leading() const { return leading_; }
  absl::Time elected_at() const { return elected_at_; }
  const std::optional<LeaderInfo>& leader() const { return detector_->leader(); }
  // This candidate's node (the registry's fence); empty until it is created.
  std::string node_path() const;
  ZkSession& session() { return *session_; }

 private:
  void OnEvent(ZkEvent event, const std::string& path);
  void Contend();
  void OnLeader(const std::optional<LeaderInfo>& leader);
  void Depose(const std::string& why);

  EventLoop& loop_;
  LeaderInfo self_;
  Callbacks callbacks_;
  std::unique_ptr<ZkSession> session_;
  std::unique_ptr<LeaderDetector> detector_;
  std::string guid_;            // of the current session's candidacy
  std::string node_;            // its node's name, once created
  int64_t node_session_ = 0;    // the session that created node_
  bool creating_ = false;
  bool leading_ = false;
  absl::Time elected_at_ = absl::InfinitePast();
  EventLoop::TimerId disconnected_timer_ = 0;
};

}  // namespace agora::master
