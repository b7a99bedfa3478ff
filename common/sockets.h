// RouterSocket and DealerSocket wrap the two ZeroMQ socket kinds Agora uses,
// registered on an EventLoop: a ROUTER that servers bind (the master, and the
// agent for its executors) and a DEALER that clients connect with. Incoming
// frames are drained in bounded batches and decoded with Decode(); bad frames
// are counted in stats() and dropped. Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "common/framing.h"
#include "common/transport.h"

namespace agora {

struct SocketStats {
  FrameStats frames;
  uint64_t sent = 0;
  uint64_t send_dropped = 0;   // peer unknown or queue full
  uint64_t bad_multipart = 0;  // wrong number of parts
};

class RouterSocket final : public Transport {
 public:
  using Handler = std::function<void(const PeerId& peer, wire::Envelope::Reader env)>;

  // Binds `endpoint` (tcp://HOST:PORT, tcp://HOST:0, ipc://PATH).
  static absl::StatusOr<std::unique_ptr<RouterSocket>> Bind(zmq::context_t& context,
                                                            const std::string& endpoint,
                                                            EventLoop& loop, Handler handler);
  ~RouterSocket() override;

  bool Send(const PeerId& peer, capnp::MessageBuilder& message) override;
  // The endpoint actually bound (resolves port 0).
  const std::string& endpoint() const { return endpoint_; }
  const SocketStats& stats() const { return stats_; }

 private:
  RouterSocket(zmq::context_t& context, EventLoop& loop, Handler handler);
  void OnReadable();

  EventLoop& loop_;
  zmq::socket_t socket_;
  Handler handler_;
  std::string endpoint_;
  SocketStats stats_;
};

class DealerSocket {
 public:
  using Handler = std::function<void(wire::Envelope::Reader env)>;

  // `routing_id` empty: a random one. Either way it is kept across
  // reconnections.
  DealerSocket(zmq::context_t& context, std::string endpoint, EventLoop& loop, Handler handler,
               std::string routing_id = "");
  ~DealerSocket();

  bool Send(capnp::MessageBuilder& message);
  // Closes the connection and opens a fresh one (drops anything queued).
  void Reconnect();
  const std::string& endpoint() const { return endpoint_; }
  const SocketStats& stats() const { return stats_; }

 private:
  void Open();
  void OnReadable();

  zmq::context_t& context_;
  std::string endpoint_;
  EventLoop& loop_;
  Handler handler_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::string routing_id_;
  SocketStats stats_;
};

}  // namespace agora
