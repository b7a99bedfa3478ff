// MasterClient asks the master one question at a time and waits for the
// answer with a deadline: the request/reply path for operator queries, used
// by the CLI and by frameworks that need the cluster's shape.
// Not thread-safe; one per thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <capnp/message.h>
#include <zmq.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capnp/agora.capnp.h"
#include "agora/resources.h"
#include "common/curve.h"
#include "common/http_client.h"
#include "common/socket_monitor.h"

namespace agora::sdk {

class MasterClient {
 public:
  // `endpoint` is the master's, tcp://HOST:PORT, or zk://... to ask
  // ZooKeeper who leads. A standby master's answer names the leader, and
  // the question goes there instead (once). With `curve`, the connection is
  // encrypted and authenticated; a master that refuses the key is reported
  // as PermissionDenied.
  MasterClient(std::string endpoint, absl::Duration timeout,
               std::optional<CurveClient> curve = std::nullopt);
  ~MasterClient();
  // The JSON text the master returns for `query` (agents, frameworks, tasks,
  // offers, stats). Unavailable when the master does not answer in time, or
  // at once, with the reason, when nothing listens at its address or its
  // host does not resolve; InvalidArgument for an address that is not a
  // ZeroMQ endpoint.
  absl::StatusOr<std::string> Query(const std::string& query);
  // How to reach a daemon's HTTP: `target` is "master", "agent:ID-OR-HOSTNAME"
  // or "framework:NAME". On a secured master this needs an operator key and
  // carries a token for that daemon (see common/http_client.h).
  absl::StatusOr<HttpAccess> HttpAccessTo(const std::string& target);
  // Asks the master to kill a task of any framework (operator kill).
  absl::Status KillTask(const std::string& task_id, const std::string& framework_id);
  // Agent maintenance: "drain" (with `deadline`, zero for none), "undrain",
  // "gone"; `agent` is an id or a hostname.
  absl::Status AgentAction(const std::string& agent, const std::string& action, absl::Duration deadline);
  // Removes a framework: its tasks are killed.
  absl::Status Teardown(const std::string& framework_id);
  // Sets a role's weight (0: unchanged) and its quota: `quota` when given,
  // removed with `remove_quota`, else unchanged.
  absl::Status SetRole(const std::string& role, double weight,
                       const std::optional<Resources>& quota, bool remove_quota);

 private:
  // Sends `msg` (its envelope carries `request_id`) and waits for the answer:
  // the JSON of an operatorReply, empty for ok, or the master's error.
  // Any other answer goes to `take`, which returns whether it was the one
  // expected.
  absl::StatusOr<std::string> Call(capnp::MessageBuilder& msg, uint64_t request_id,
                                   const std::function<bool(wire::Envelope::Reader)>& take = nullptr);
  absl::StatusOr<std::string> CallOnce(capnp::MessageBuilder& msg, uint64_t request_id,
                                       const std::function<bool(wire::Envelope::Reader)>& take);
  // Connects the socket to endpoint_ (the leader's, for zk://) once.
  absl::Status Connect();

  std::string endpoint_;   // ZeroMQ: the one given, or the leader's
  std::string redirect_;   // the leader a standby named in its last answer
  absl::Duration timeout_;
  zmq::context_t context_;
  zmq::socket_t socket_;
  bool secured_ = false;
  std::unique_ptr<SocketMonitor> monitor_;  // handshake failures
  std::optional<HandshakeFailure> handshake_failure_;
  bool connect_failed_ = false;  // an attempt failed: nothing listens, or no such host
  uint64_t next_request_id_ = 1;
  bool connected_ = false;
};

}  // namespace agora::sdk
