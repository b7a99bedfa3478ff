// Master: what an authenticated principal may do (secured masters only).
//
// Agents' messages need a key that may act as an agent, and an agent id is
// bound to the key that registered it; frameworks' messages need a key that
// may act as a framework and subscribe only with its roles, and a framework
// id is bound to the key that subscribed it; operator commands that change
// state (kill, drain, teardown) need an operator key; queries need any
// admitted key; HTTP tokens need an operator key. A refusal is answered with
// permissionDenied and counted.
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/json_text.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "master/master.h"

#include "absl/strings/match.h"

namespace agora::master {

absl::Status Master::CheckAgentOwner(const std::string& agent_id) const {
  // Known now, or known before a restart (from the registry).
  std::string owner;
  if (auto it = agents_.find(agent_id); it != agents_.end()) {
    owner = it->second.principal;
  } else if (auto r = recovering_agents_.find(agent_id); r != recovering_agents_.end()) {
    owner = r->second.principal;
  }
  if (owner.empty() || owner == sender_->name) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("agent ", agent_id, " was registered by key '",
                                                  owner, "', not '", sender_->name, "'"));
}

bool Master::Permitted(const PeerId& peer, wire::Envelope::Reader env) {
  auto deny = [&](const std::string& why) {
    ++stats_.permission_denied;
    AGORA_LOG(WARNING, "master") << "permission denied: " << why;
    // An error is never answered with an error (no ping-pong with a peer).
    if (!env.isError()) {
      WireMessage msg;
      auto error = NewEnvelope(msg, env.getRequestId()).initError();
      error.setCode(wire::ErrorCode::PERMISSION_DENIED);
      error.setMessage(why);
      transport_.Send(peer, msg);
    }
    return false;
  };
  if (sender_ == nullptr) return deny("the connection is not authenticated by a trusted key");
  const CurvePrincipal& p = *sender_;
  const std::string who = absl::StrCat("key '", p.name, "' (", CurveKindName(p.kind), ")");
  auto as_agent = [&](const std::string& agent_id) {
    if (!p.MayActAsAgent()) return deny(absl::StrCat(who, " may not act as an agent"));
    if (absl::Status s = CheckAgentOwner(agent_id); !s.ok()) return deny(std::string(s.message()));
    return true;
  };
  switch (env.which()) {
    case wire::Envelope::REGISTER_AGENT:
      return as_agent(env.getRegisterAgent().getAgentId());
    case wire::Envelope::AGENT_HEARTBEAT:
      return as_agent(env.getAgentHeartbeat().getAgentId());
    case wire::Envelope::STATUS_UPDATE:
      return as_agent(env.getStatusUpdate().getStatus().getAgentId());
    case wire::Envelope::USAGE_REPORT:
      return as_agent(env.getUsageReport().getAgentId());
    case wire::Envelope::ERROR:
      return as_agent("");
    case wire::Envelope::SUBSCRIBE: {
      if (!p.MayActAsFramework()) return deny(absl::StrCat(who, " may not act as a framework"));
      std::string role = env.getSubscribe().getRole();
      if (role.empty()) role = "*";
      if (!p.MayUseRole(role)) {
        return deny(absl::StrCat(who, " may subscribe with roles ", absl::StrJoin(p.roles, ", "),
                                 " only, not '", role, "'"));
      }
      auto fw = frameworks_.find(std::string(env.getSubscribe().getFrameworkId()));
      if (fw != frameworks_.end() && !fw->second.principal.empty() &&
          fw->second.principal != p.name) {
        return deny(absl::StrCat("framework ", fw->first, " belongs to key '",
                                 fw->second.principal, "'"));
      }
      return true;
    }
    case wire::Envelope::FRAMEWORK_HEARTBEAT:
    case wire::Envelope::ACCEPT:
    case wire::Envelope::DECLINE:
    case wire::Envelope::SUPPRESS:
    case wire::Envelope::REVIVE:
    case wire::Envelope::TEARDOWN:
    case wire::Envelope::ACKNOWLEDGE:
    case wire::Envelope::KILL_TASK:
    case wire::Envelope::RECONCILE:
      // Which framework: AuthorizedFramework binds the id to its connection.
      if (!p.MayActAsFramework()) return deny(absl::StrCat(who, " may not act as a framework"));
      return true;
    case wire::Envelope::HTTP_ACCESS_REQUEST:
      if (p.kind != CurvePrincipal::Kind::kOperator) {
        return deny(absl::StrCat(who, " may not have HTTP tokens: they are for operator keys (the "
                                      "master's --operator-keys)"));
      }
      return true;
    case wire::Envelope::OPERATOR_KILL:
    case wire::Envelope::OPERATOR_AGENT:
    case wire::Envelope::OPERATOR_TEARDOWN:
    case wire::Envelope::OPERATOR_ROLE:
      if (p.kind != CurvePrincipal::Kind::kOperator) {
        return deny(absl::StrCat(who, " may not kill, drain, tear down or set roles: that takes an "
                                      "operator key (the master's --operator-keys)"));
      }
      return true;
    default:
      return true;  // queries; and kinds the master does not take, answered as such
  }
}

std::string Master::SecurityJson() const {
  nlohmann::json trusted = nlohmann::json::array(), operators = nlohmann::json::array();
  for (const CurvePrincipal& p : options_.principals) {
    (p.kind == CurvePrincipal::Kind::kOperator ? operators : trusted).push_back(p.name);
  }
  nlohmann::json out = {{"mode", options_.secured ? "curve" : "open"},
                        {"trusted_keys", trusted},
                        {"operator_keys", operators},
                        {"permission_denied", stats_.permission_denied}};
  if (!http_endpoint_.empty()) {
    const bool loopback = absl::StrContains(http_endpoint_, "//127.") ||
                          absl::StrContains(http_endpoint_, "//localhost:") ||
                          absl::StrContains(http_endpoint_, "//[::1]:");
    out["http"] = {{"endpoint", http_endpoint_},
                   {"loopback_only", loopback},
                   {"authenticated", options_.secured},
                   {"tls", !http_cert_sha256_.empty()}};
  }
  if (transport_stats_ != nullptr) {
    out["handshakes_refused"] = transport_stats_->handshakes_refused;
    out["handshakes_failed"] = transport_stats_->handshakes_failed;
  }
  return JsonText(out);
}

}  // namespace agora::master
