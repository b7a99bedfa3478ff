// Master: telling an operator how to reach a daemon's HTTP. On a secured
// master the answer carries the daemon's certificate fingerprint (announced
// over CurveZMQ when it registered or subscribed) and a token only that
// daemon accepts, issued to the asking operator for http_token_lifetime.
// Permitted() has already refused every key that is not an operator's.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http_token.h"
#include "master/master.h"

namespace agora::master {

namespace {

struct HttpTargetInfo {
  std::string url;
  std::string cert_sha256;
  std::string audience;  // the principal whose key the token is for
};

}  // namespace

void Master::OnHttpAccess(const PeerId& peer, uint64_t rid, const std::string& target) {
  HttpTargetInfo info;
  const std::string kind = target.substr(0, target.find(':'));
  const std::string agent_or_name = target.substr(kind.size() + (kind.size() < target.size() ? 1 : 0));
  if (target == "master") {
    info = {http_endpoint_, http_cert_sha256_, ""};
  } else if (kind == "agent") {
    AgentRecord* agent = FindAgent(agent_or_name);
    if (agent == nullptr || agent->http_endpoint.empty()) {
      return SendError(peer, rid, wire::ErrorCode::NOT_FOUND,
                       absl::StrCat("no agent '", agent_or_name, "' with HTTP is registered (or more than "
                                    "one has that hostname: use its id)"));
    }
    info = {agent->http_endpoint, agent->http_cert_sha256, agent->principal};
  } else if (kind == "framework") {
    const FrameworkRecord* found = nullptr;
    int active = 0;
    for (const auto& [id, fw] : frameworks_) {
      if (fw.name == agent_or_name && fw.state == FrameworkState::kActive && !fw.endpoint.empty()) {
        found = &fw;
        ++active;
      }
    }
    if (active > 1) {
      return SendError(peer, rid, wire::ErrorCode::FAILED_PRECONDITION,
                       absl::StrCat(active, " active frameworks are named '", agent_or_name,
                                    "': which one to reach is ambiguous (agora frameworks lists them)"));
    }
    if (found == nullptr) {
      for (const auto& [id, fw] : frameworks_) {
        if (fw.name != agent_or_name || fw.state != FrameworkState::kDisconnected) continue;
        // After a master failover or a restart of the framework: it has its
        // failover timeout to come back.
        return SendError(peer, rid, wire::ErrorCode::UNAVAILABLE,
                         absl::StrCat("framework '", agent_or_name, "' (", id, ") is disconnected since ",
                                      absl::FormatDuration(absl::Trunc(loop_.Now() - fw.disconnected_at,
                                                                       absl::Milliseconds(100))),
                                      " ago; it may be subscribing again"));
      }
      return SendError(peer, rid, wire::ErrorCode::NOT_FOUND,
                       absl::StrCat("no active framework named '", agent_or_name,
                                    "' with an API is registered with the master; is ", agent_or_name,
                                    " running?"));
    }
    info = {found->endpoint, found->endpoint_cert_sha256, found->principal};
  } else {
    return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT,
                     "an HTTP target is master, agent:ID-OR-HOSTNAME or framework:NAME");
  }
  WireMessage msg;
  auto access = NewEnvelope(msg, rid).initHttpAccess();
  access.setUrl(info.url);
  if (options_.secured && options_.own_keys) {
    // The audience's key: the master's own, or the one the daemon registered with.
    std::string audience_key = options_.own_keys->public_key;
    if (!info.audience.empty()) {
      auto p = principals_.find(info.audience);
      if (p == principals_.end()) {
        return SendError(peer, rid, wire::ErrorCode::FAILED_PRECONDITION,
                         absl::StrCat(target, " registered with key '", info.audience,
                                      "', which the master no longer trusts"));
      }
      audience_key = p->second->public_key;
    }
    if (info.cert_sha256.empty() || !absl::StartsWith(info.url, "https://")) {
      return SendError(peer, rid, wire::ErrorCode::FAILED_PRECONDITION,
                       absl::StrCat(target, " serves plain HTTP on a secured cluster: it announced no "
                                            "certificate (an older version?)"));
    }
    const absl::Time expires = absl::Now() + options_.http_token_lifetime;
    auto token = HttpTokenIssuer(*options_.own_keys).Issue(*sender_, audience_key, expires);
    if (!token.ok()) return SendError(peer, rid, wire::ErrorCode::INTERNAL, token.status().message());
    access.setCertSha256(info.cert_sha256);
    access.setToken(*token);
    access.setExpiresUnixMs(absl::ToUnixMillis(expires));
  }
  transport_.Send(peer, msg);
}

}  // namespace agora::master
