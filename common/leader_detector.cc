#include "common/leader_detector.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace agora {

std::string LeaderInfoJson(const LeaderInfo& info) {
  return nlohmann::json{{"endpoint", info.endpoint},
                        {"http", info.http},
                        {"hostname", info.hostname},
                        {"version", info.version}}
      .dump();
}

absl::StatusOr<LeaderInfo> ParseLeaderInfo(absl::string_view json, std::string node) {
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("endpoint") || !parsed["endpoint"].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the election node ", node, " does not hold a master's address"));
  }
  LeaderInfo info;
  info.node = std::move(node);
  info.endpoint = parsed["endpoint"].get<std::string>();
  auto text = [&](const char* key) {
    return parsed.contains(key) && parsed[key].is_string() ? parsed[key].get<std::string>() : "";
  };
  info.http = text("http");
  info.hostname = text("hostname");
  info.version = text("version");
  return info;
}

std::string ElectionPath(const ZkUrl& url) { return url.root + "/masters"; }

std::string ContenderPrefix(const std::string& guid) { return absl::StrCat("m-", guid, "-"); }

std::optional<std::string> LowestContender(const std::vector<std::string>& names) {
  constexpr size_t kSequenceDigits = 10;  // ZooKeeper's sequential suffix
  std::optional<std::string> lowest;
  auto sequence = [](const std::string& name) { return name.substr(name.size() - kSequenceDigits); };
  for (const std::string& name : names) {
    if (!absl::StartsWith(name, "m-") || name.size() < 2 + kSequenceDigits + 1) continue;
    const std::string seq = sequence(name);
    if (name[name.size() - kSequenceDigits - 1] != '-' ||
        !std::all_of(seq.begin(), seq.end(), absl::ascii_isdigit)) {
      continue;
    }
    if (!lowest || seq < sequence(*lowest)) lowest = name;
  }
  return lowest;
}

LeaderDetector::LeaderDetector(EventLoop& loop, ZkSession& session, OnChange on_change)
    : loop_(loop), session_(session), on_change_(std::move(on_change)) {
  if (session_.connected()) List();
}

LeaderDetector::~LeaderDetector() { loop_.Cancel(retry_timer_); }

void LeaderDetector::OnEvent(ZkEvent event, const std::string& path) {
  if (event == ZkEvent::kConnected ||
      (event == ZkEvent::kChildrenChanged && path == ElectionPath(session_.url()))) {
    List();
  }
}

void LeaderDetector::List() {
  loop_.Cancel(retry_timer_);
  const uint64_t generation = ++generation_;
  const std::string election = ElectionPath(session_.url());
  session_.Children(election, /*watch=*/true, [this, generation, election](
                                                  int rc, std::vector<std::string> names) {
    if (generation != generation_) return;
    if (rc == ZNONODE) {
      // No master ever contended under this root: look again soon.
      Report(std::nullopt);
      retry_timer_ = loop_.After(absl::Seconds(1), [this] { List(); });
      return;
    }
    if (rc != ZOK) return;  // connection lost: List() again once connected
    if (on_listed_) on_listed_(names);
    const std::optional<std::string> lowest = LowestContender(names);
    if (!lowest) return Report(std::nullopt);
    if (leader_ && leader_->node == *lowest) return;
    session_.Get(absl::StrCat(election, "/", *lowest), /*watch=*/false,
                 [this, generation, node = *lowest](int rc, std::string data) {
                   if (generation != generation_) return;
                   if (rc == ZNONODE) return List();  // it left meanwhile
                   if (rc != ZOK) return;
                   auto info = ParseLeaderInfo(data, node);
                   if (!info.ok()) {
                     AGORA_LOG(ERROR, "zookeeper") << info.status().message();
                     return Report(std::nullopt);
                   }
                   Report(*std::move(info));
                 });
  });
}

void LeaderDetector::Report(std::optional<LeaderInfo> leader) {
  if (leader == leader_) return;
  leader_ = std::move(leader);
  on_change_(leader_);
}

absl::StatusOr<std::unique_ptr<LeaderFollower>> LeaderFollower::Start(
    EventLoop& loop, const std::string& zk_url, LeaderDetector::OnChange on_change) {
  auto url = ParseZkUrl(zk_url);
  if (!url.ok()) return url.status();
  std::unique_ptr<LeaderFollower> follower(new LeaderFollower());
  LeaderFollower* self = follower.get();
  follower->session_ = std::make_unique<ZkSession>(
      loop, *std::move(url), absl::Seconds(10), [self](ZkEvent event, const std::string& path) {
        if (event == ZkEvent::kExpired) {
          if (absl::Status s = self->session_->Reopen(); !s.ok()) {
            AGORA_LOG(ERROR, "zookeeper") << s.message();
          }
          return;
        }
        self->detector_->OnEvent(event, path);
      });
  follower->detector_ = std::make_unique<LeaderDetector>(loop, *follower->session_, std::move(on_change));
  if (absl::Status s = follower->session_->Open(); !s.ok()) return s;
  return follower;
}

absl::StatusOr<std::unique_ptr<LeaderFollower>> FollowMaster(EventLoop& loop,
                                                             const std::string& address,
                                                             DealerSocket& socket,
                                                             std::function<void()> on_moved) {
  if (!IsZkUrl(address)) return std::unique_ptr<LeaderFollower>();
  return LeaderFollower::Start(
      loop, address, [&socket, on_moved = std::move(on_moved)](const std::optional<LeaderInfo>& leader) {
        if (!leader) {
          AGORA_LOG(WARNING, "zookeeper") << "no master leads at the moment";
          return;
        }
        if (leader->endpoint == socket.endpoint()) return;
        AGORA_LOG(INFO, "zookeeper") << "the leading master is at " << leader->endpoint;
        socket.Retarget(leader->endpoint);
        on_moved();
      });
}

absl::StatusOr<LeaderInfo> FindLeader(const std::string& zk_url, absl::Duration timeout) {
  SystemClock clock;
  EventLoop loop(clock);
  std::optional<LeaderInfo> found;
  auto follower = LeaderFollower::Start(loop, zk_url, [&](const std::optional<LeaderInfo>& leader) {
    if (leader) {
      found = leader;
      loop.Stop();
    }
  });
  if (!follower.ok()) return follower.status();
  loop.After(timeout, [&] { loop.Stop(); });
  loop.Run();
  if (found) return *found;
  return absl::UnavailableError(
      (*follower)->connected() ? absl::StrCat("no master leads at ", zk_url,
                             ": is an agora-master running with --zk ", zk_url, "?")
              : absl::StrCat("ZooKeeper at ", zk_url, " did not answer within ",
                             absl::FormatDuration(timeout), ": are its servers up and reachable?"));
}

}  // namespace agora
