// What a master that does not lead (a standby, --zk) answers: every ZeroMQ
// message with a notLeader Error naming the leader's endpoint (clients that
// follow ZooKeeper move there by themselves; the command line follows it),
// HTTP /state and /v1/ with a 307 to the leader's (503 while none leads),
// and /metrics with its own gauges (agora_elected 0).
#pragma once

#include <optional>
#include <string>

#include "capnp/agora.capnp.h"
#include "common/http_endpoint.h"
#include "common/leader_detector.h"
#include "common/transport.h"

namespace agora::master {

void AnswerNotLeader(Transport& transport, const PeerId& peer, wire::Envelope::Reader env,
                     const std::optional<LeaderInfo>& leader);
HttpReply StandbyRedirect(const HttpRequest& request, const std::optional<LeaderInfo>& leader);
std::string StandbyMetrics();

}  // namespace agora::master
