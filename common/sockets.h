// RouterSocket and DealerSocket wrap the two ZeroMQ socket kinds Agora uses,
// registered on an EventLoop: a ROUTER that servers bind (the master, and the
// agent for its executors) and a DEALER that clients connect with. Incoming
// frames are drained in bounded batches and decoded with Decode(); bad frames
// are counted in stats() and dropped. Either may be secured with CurveZMQ
// (common/curve.h): encrypted, and, with a ZapAuthenticator in the server's
// context, authenticated; failed handshakes are logged and counted on both
// sides. Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "absl/status/statusor.h"
#include "common/curve.h"
#include "common/event_loop.h"
#include "common/framing.h"
#include "common/socket_monitor.h"
#include "common/transport.h"

namespace agora {

// This machine's name (127.0.0.1 when it has none).
std::string HostName();
// The endpoint others reach a socket bound at `bound` by: a wildcard host
// (0.0.0.0, *, ::) is replaced by HostName().
std::string AdvertisedEndpoint(const std::string& bound);

struct SocketStats {
  FrameStats frames;
  uint64_t sent = 0;
  uint64_t send_dropped = 0;   // peer unknown or queue full
  uint64_t bad_multipart = 0;  // wrong number of parts
  uint64_t handshakes_refused = 0;  // CURVE: a key the authenticator refused
  uint64_t handshakes_failed = 0;   // CURVE: no keys, wrong server key, protocol errors
};

class RouterSocket final : public Transport {
 public:
  using Handler = std::function<void(const PeerId& peer, wire::Envelope::Reader env)>;

  // Binds `endpoint` (tcp://HOST:PORT, tcp://HOST:0, ipc://PATH); with
  // `curve_secret_key` (Z85), as a CURVE server.
  static absl::StatusOr<std::unique_ptr<RouterSocket>> Bind(
      zmq::context_t& context, const std::string& endpoint, EventLoop& loop, Handler handler,
      std::optional<std::string> curve_secret_key = std::nullopt);
  ~RouterSocket() override;

  bool Send(const PeerId& peer, capnp::MessageBuilder& message) override;
  // Stops reading (messages wait in the socket's queues) until Resume();
  // idempotent.
  void Pause();
  void Resume();
  // The endpoint actually bound (resolves port 0).
  const std::string& endpoint() const { return endpoint_; }
  const SocketStats& stats() const { return stats_; }
  // Inside the handler: the authenticated principal (its ZAP User-Id) the
  // message came from; empty on an unsecured socket.
  const std::string& current_principal() const { return current_principal_; }

 private:
  RouterSocket(zmq::context_t& context, EventLoop& loop, Handler handler);
  void OnReadable();

  EventLoop& loop_;
  zmq::socket_t socket_;
  Handler handler_;
  std::string endpoint_;
  SocketStats stats_;
  bool secured_ = false;
  absl::Time last_failure_logged_ = absl::InfinitePast();
  std::string current_principal_;
  std::unique_ptr<SocketMonitor> monitor_;
  bool paused_ = false;
};

class DealerSocket {
 public:
  using Handler = std::function<void(wire::Envelope::Reader env)>;

  // `routing_id` empty: a random one. Either way it is kept across
  // reconnections. With `curve`, the connection is encrypted and
  // authenticated; a refusal is logged (once a minute) and counted.
  DealerSocket(zmq::context_t& context, std::string endpoint, EventLoop& loop, Handler handler,
               std::string routing_id = "", std::optional<CurveClient> curve = std::nullopt);
  ~DealerSocket();

  bool Send(capnp::MessageBuilder& message);
  // Closes the connection and opens a fresh one (drops anything queued).
  void Reconnect();
  // Reconnects to another endpoint (a newly elected master). With an empty
  // endpoint, as at construction, it connects nowhere and sends are dropped.
  void Retarget(std::string endpoint) {
    endpoint_ = std::move(endpoint);
    Reconnect();
  }
  // Called (after the socket's own logging and counting) when a CURVE
  // handshake fails; only with `curve`.
  void OnHandshakeFailed(std::function<void(const HandshakeFailure&)> fn) {
    on_handshake_failed_ = std::move(fn);
  }
  const std::string& endpoint() const { return endpoint_; }
  const SocketStats& stats() const { return stats_; }

 private:
  void Open();
  void OnReadable();
  void OnHandshakeFailure(const HandshakeFailure& failure);

  zmq::context_t& context_;
  std::string endpoint_;
  EventLoop& loop_;
  Handler handler_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::string routing_id_;
  std::optional<CurveClient> curve_;
  std::unique_ptr<SocketMonitor> monitor_;  // with curve_
  absl::Time last_failure_logged_ = absl::InfinitePast();
  std::function<void(const HandshakeFailure&)> on_handshake_failed_;
  SocketStats stats_;
};

}  // namespace agora
