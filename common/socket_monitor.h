// SocketMonitor reports a ZeroMQ socket's failed security handshakes, read
// from libzmq's socket monitor (an inproc PAIR socket): a secured server logs
// and counts peers that could not complete the CURVE handshake, and a client
// learns that the server refused its key instead of waiting in silence. A
// client may also learn that its connection attempts fail (libzmq retries
// them for ever, silently).
// Create it before the socket connects or binds; destroy it before the socket.
// Loop thread only (or, with no loop, the thread that calls Drain()).
#pragma once

#include <functional>
#include <string>

#include <zmq.hpp>

#include "common/event_loop.h"

namespace agora {

struct HandshakeFailure {
  bool refused = false;  // the authenticator said no (`status` is its ZAP code)
  int status = 0;        // ZAP status code, or libzmq's protocol error code
  std::string endpoint;
};

class SocketMonitor {
 public:
  using Handler = std::function<void(const HandshakeFailure&)>;

  // `loop` null: nothing is watched; call Drain() to handle pending events.
  // `on_connect_failed` (optional) runs each time a connection attempt
  // failed and libzmq will retry it: refused, or a host that did not resolve.
  SocketMonitor(zmq::context_t& context, zmq::socket_t& socket, EventLoop* loop, Handler handler,
                std::function<void()> on_connect_failed = nullptr);
  ~SocketMonitor();
  SocketMonitor(const SocketMonitor&) = delete;
  SocketMonitor& operator=(const SocketMonitor&) = delete;

  void Drain();
  zmq::socket_t& pair() { return pair_; }

 private:
  zmq::socket_t& socket_;
  EventLoop* loop_;
  zmq::socket_t pair_;
  Handler handler_;
  std::function<void()> on_connect_failed_;
};

}  // namespace agora
