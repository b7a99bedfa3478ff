#include "master/master_election.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"

namespace agora::master {

MasterElection::MasterElection(EventLoop& loop, ZkUrl url, absl::Duration session_timeout,
                               LeaderInfo self, Callbacks callbacks)
    : loop_(loop), self_(std::move(self)), callbacks_(std::move(callbacks)) {
  session_ = std::make_unique<ZkSession>(loop_, std::move(url), session_timeout,
                                         [this](ZkEvent e, const std::string& path) { OnEvent(e, path); });
  detector_ = std::make_unique<LeaderDetector>(
      loop_, *session_, [this](const std::optional<LeaderInfo>& leader) { OnLeader(leader); });
  detector_->set_on_listed([this](const std::vector<std::string>& names) { OnListed(names); });
}

MasterElection::~MasterElection() {
  for (EventLoop::TimerId timer : {disconnected_timer_, lease_timer_, retry_timer_}) loop_.Cancel(timer);
}

absl::Status MasterElection::Start() {
  guid_ = NewId("g");
  return session_->Open();
}

std::string MasterElection::node_path() const {
  return node_.empty() ? "" : absl::StrCat(ElectionPath(session_->url()), "/", node_);
}

void MasterElection::OnEvent(ZkEvent event, const std::string& path) {
  switch (event) {
    case ZkEvent::kConnected:
      // A server takes a session back only once the ensemble's leader has
      // confirmed it: a lease as good as a sync's.
      if (leading_) lease_until_ = loop_.Now() + Lease();
      if (disconnected_timer_ != 0) Resume("ZooKeeper is back within the session");
      if (node_.empty() || node_session_ != session_->session_id()) Contend();
      break;
    case ZkEvent::kDisconnected:
      if (leading_ && disconnected_timer_ == 0) Pause("lost ZooKeeper");
      break;
    case ZkEvent::kExpired:
      if (leading_) return Depose("its ZooKeeper session expired");
      AGORA_LOG(WARNING, "master") << "ZooKeeper session expired: contending again with a new one";
      node_.clear();
      guid_ = NewId("g");
      if (absl::Status s = session_->Reopen(); !s.ok()) AGORA_LOG(ERROR, "master") << s.message();
      return;  // the new session's kConnected contends
    default:
      break;
  }
  detector_->OnEvent(event, path);
}

void MasterElection::Pause(const std::string& why) {
  const absl::Duration grace = absl::Trunc(session_->negotiated_timeout() / 3, absl::Milliseconds(1));
  AGORA_LOG(WARNING, "master") << why << ": pausing until it is back (at most " << absl::FormatDuration(grace)
                               << ")";
  if (callbacks_.on_paused) callbacks_.on_paused(true);
  disconnected_timer_ = loop_.After(grace, [this, grace, why] {
    disconnected_timer_ = 0;
    Depose(absl::StrCat(why, " and was not back within ", absl::FormatDuration(grace),
                        ", so its session may expire and another master lead"));
  });
}

void MasterElection::Resume(const std::string& why) {
  loop_.Cancel(disconnected_timer_);
  disconnected_timer_ = 0;
  AGORA_LOG(INFO, "master") << why << ": leading again";
  if (callbacks_.on_paused) callbacks_.on_paused(false);
}

absl::Duration MasterElection::Lease() const { return session_->negotiated_timeout() / 2; }

void MasterElection::RenewLease() {
  if (!leading_) return;
  if (!syncing_) {
    syncing_ = true;
    const absl::Time issued = loop_.Now();
    const int64_t session = session_->session_id();
    session_->Sync(ElectionPath(session_->url()), [this, issued, session](int rc) {
      syncing_ = false;
      if (rc != ZOK || !leading_ || session != session_->session_id()) return;
      // The ensemble's leader answered: the session lived when this was sent.
      lease_until_ = std::max(lease_until_, issued + Lease());
      if (disconnected_timer_ == 0) return;
      if (session_->connected_now() && loop_.Now() < lease_until_) {
        Resume("ZooKeeper confirmed the session again");
      } else {
        RenewLease();  // a late answer, sent too long ago: ask again now
      }
    });
  }
  if (disconnected_timer_ == 0 && loop_.Now() > lease_until_) {
    Pause(absl::StrCat("ZooKeeper confirmed nothing for ",
                       absl::FormatDuration(absl::Trunc(Lease(), absl::Milliseconds(1))),
                       " (its server may be cut off from the others)"));
  }
}

void MasterElection::Contend() {
  if (creating_) return;
  creating_ = true;
  const std::string election = ElectionPath(session_->url());
  session_->CreatePath(election, [this, election, session = session_->session_id()](int rc) {
    if (rc != ZOK) return ContendFailed(rc, absl::StrCat("create ", election));
    // After a lost answer, the node may exist already: a sync brings this
    // server up to date with the create, and the GUID finds it.
    session_->Sync(election, [this, election, session](int rc) {
      if (rc != ZOK) return ContendFailed(rc, absl::StrCat("sync ", election));
      session_->Children(election, false, [this, session](int rc, std::vector<std::string> names) {
        if (rc != ZOK) return ContendFailed(rc, "list the candidates");
        for (const std::string& name : names) {
          if (absl::StartsWith(name, ContenderPrefix(guid_))) return Contending(name, session);
        }
        CreateNode(session);
      });
    });
  });
}

void MasterElection::CreateNode(int64_t session) {
  const std::string prefix = absl::StrCat(ElectionPath(session_->url()), "/", ContenderPrefix(guid_));
  session_->Create(prefix, LeaderInfoJson(self_), ZOO_EPHEMERAL | ZOO_SEQUENCE,
                   [this, session](int rc, std::string created) {
                     if (rc != ZOK) return ContendFailed(rc, "create its node");
                     Contending(created.substr(created.rfind('/') + 1), session);
                     detector_->Refresh();  // its first look may have found no election yet
                   });
}

void MasterElection::Contending(std::string node, int64_t session) {
  creating_ = false;
  node_ = std::move(node);
  node_session_ = session;
  AGORA_LOG(INFO, "master") << "contending for leadership as " << node_;
  OnLeader(detector_->leader());
}

void MasterElection::ContendFailed(int rc, absl::string_view what) {
  creating_ = false;
  if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONEXPIRED || rc == ZCLOSING) {
    return;  // contends again once connected
  }
  AGORA_LOG(ERROR, "master") << "cannot contend for leadership (" << what << "): " << zerror(rc)
                             << "; trying again in 1s";
  loop_.Cancel(retry_timer_);
  retry_timer_ = loop_.After(absl::Seconds(1), [this] {
    retry_timer_ = 0;
    if (session_->connected() && node_.empty()) Contend();
  });
}

void MasterElection::OnListed(const std::vector<std::string>& names) {
  if (leading_ || creating_ || node_.empty() || node_session_ != session_->session_id()) return;
  if (std::find(names.begin(), names.end(), node_) != names.end()) return;
  AGORA_LOG(WARNING, "master") << "its election node " << node_
                               << " is gone although its session lives (deleted by hand?): contending again";
  node_.clear();
  guid_ = NewId("g");
  Contend();
}

void MasterElection::OnLeader(const std::optional<LeaderInfo>& leader) {
  const bool us = leader && !node_.empty() && leader->node == node_ &&
                  node_session_ == session_->session_id();
  if (leading_ && !us) {
    return Depose(leader ? absl::StrCat("the master at ", leader->endpoint, " leads now")
                         : "no master leads any more");
  }
  if (callbacks_.on_leader) callbacks_.on_leader(leader);
  if (!leading_ && us) {
    leading_ = true;
    elected_at_ = loop_.Now();
    AGORA_LOG(INFO, "master") << "elected leader (" << node_ << ")";
    callbacks_.on_elected();
    // Recovery blocked the loop (nothing acted meanwhile): the first sync,
    // sent now, has a sixth of the timeout to confirm the session.
    lease_until_ = loop_.Now() + session_->negotiated_timeout() / 6;
    lease_timer_ = loop_.Every(session_->negotiated_timeout() / 6, [this] { RenewLease(); });
    RenewLease();
    // Recovery blocked the loop: a loss of ZooKeeper meanwhile is not heard of yet.
    if (leading_ && !session_->connected_now() && disconnected_timer_ == 0) Pause("lost ZooKeeper");
  }
}

void MasterElection::Depose(const std::string& why) {
  leading_ = false;
  loop_.Cancel(lease_timer_);
  lease_timer_ = 0;
  callbacks_.on_deposed(why);
}

}  // namespace agora::master
