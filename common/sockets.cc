#include <unistd.h>
#include "common/sockets.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"

namespace agora {

std::string HostName() {
  char name[256] = {};
  return ::gethostname(name, sizeof(name) - 1) == 0 && name[0] != 0 ? name : "127.0.0.1";
}

std::string AdvertisedEndpoint(const std::string& bound) {
  const size_t scheme = bound.find("://");
  const size_t colon = bound.rfind(':');
  if (scheme == std::string::npos || colon == std::string::npos || colon <= scheme + 3) return bound;
  const std::string host = bound.substr(scheme + 3, colon - scheme - 3);
  if (host != "0.0.0.0" && host != "*" && host != "[::]" && host != "::") return bound;
  return absl::StrCat(bound.substr(0, scheme + 3), HostName(), bound.substr(colon));
}
namespace {

// Frames handled per readable event before yielding to timers and others.
constexpr int kMaxBatch = 4096;

void SetCommonOptions(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, 100000);
  socket.set(zmq::sockopt::rcvhwm, 100000);
  // ZMTP heartbeats tear down dead TCP connections so DEALERs reconnect.
  socket.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket.set(zmq::sockopt::heartbeat_timeout, 3000);
  // libzmq drops the connection of a peer announcing a larger frame before
  // it allocates it: the decoder's own limit (common/framing.h), enforced early.
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(DecodeLimits{}.max_frame_bytes));
}

}  // namespace

RouterSocket::RouterSocket(zmq::context_t& context, EventLoop& loop, Handler handler)
    : loop_(loop), socket_(context, zmq::socket_type::router), handler_(std::move(handler)) {}

absl::StatusOr<std::unique_ptr<RouterSocket>> RouterSocket::Bind(
    zmq::context_t& context, const std::string& endpoint, EventLoop& loop, Handler handler,
    std::optional<std::string> curve_secret_key) {
  std::unique_ptr<RouterSocket> router(new RouterSocket(context, loop, std::move(handler)));
  try {
    SetCommonOptions(router->socket_);
    if (curve_secret_key) {
      ApplyCurveServer(router->socket_, *curve_secret_key);
      router->secured_ = true;
      RouterSocket* self = router.get();
      router->monitor_ = std::make_unique<SocketMonitor>(
          context, router->socket_, &loop, [self](const HandshakeFailure& f) {
            // Refusals are logged by the authenticator, with the peer's address.
            if (f.refused) {
              ++self->stats_.handshakes_refused;
              return;
            }
            // A plain client retries every few hundred ms: log once a minute.
            if (self->stats_.handshakes_failed++ % 1000 != 0 &&
                self->loop_.Now() - self->last_failure_logged_ < absl::Minutes(1)) {
              return;
            }
            self->last_failure_logged_ = self->loop_.Now();
            AGORA_LOG(WARNING, "router")
                << "a peer failed the CURVE handshake on " << f.endpoint << " (" 
                << self->stats_.handshakes_failed
                << " so far): a client without keys, or with the wrong server key";
          });
    }
    router->socket_.set(zmq::sockopt::router_mandatory, 1);
    // A peer that reconnects keeps its routing id (DealerSocket sets one) and
    // takes it over from its dead connection.
    router->socket_.set(zmq::sockopt::router_handover, 1);
    router->socket_.set(zmq::sockopt::backlog, 4096);
    router->socket_.bind(endpoint);
    router->endpoint_ = router->socket_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return absl::UnavailableError(absl::StrCat("cannot bind ", endpoint, ": ", e.what()));
  }
  RouterSocket* self = router.get();
  loop.Watch(router->socket_, [self] { self->OnReadable(); });
  return router;
}

RouterSocket::~RouterSocket() {
  monitor_.reset();
  if (!paused_) loop_.Unwatch(socket_);
}

void RouterSocket::Pause() {
  if (paused_) return;
  paused_ = true;
  loop_.Unwatch(socket_);
}

void RouterSocket::Resume() {
  if (!paused_) return;
  paused_ = false;
  loop_.Watch(socket_, [this] { OnReadable(); });
}

bool RouterSocket::Send(const PeerId& peer, capnp::MessageBuilder& message) {
  try {
    zmq::message_t id(peer.data(), peer.size());
    if (!socket_.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      ++stats_.send_dropped;
      return false;
    }
    zmq::message_t frame = Encode(message);
    if (!socket_.send(frame, zmq::send_flags::dontwait)) {
      ++stats_.send_dropped;
      return false;
    }
  } catch (const zmq::error_t& e) {
    // EHOSTUNREACH: the peer disconnected (router_mandatory).
    ++stats_.send_dropped;
    return false;
  }
  ++stats_.sent;
  return true;
}

void RouterSocket::OnReadable() {
  for (int n = 0; n < kMaxBatch; ++n) {
    zmq::message_t id;
    zmq::recv_result_t got;
    try {
      got = socket_.recv(id, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      return;
    }
    if (!got) return;
    if (!id.more()) {
      ++stats_.bad_multipart;
      continue;
    }
    zmq::message_t frame;
    (void)socket_.recv(frame, zmq::recv_flags::none);  // parts arrive atomically
    bool extra = frame.more();
    while (frame.more()) {  // drop unexpected extra parts
      zmq::message_t rest;
      (void)socket_.recv(rest, zmq::recv_flags::none);
      if (!rest.more()) break;
    }
    if (extra) {
      ++stats_.bad_multipart;
      continue;
    }
    PeerId peer(static_cast<const char*>(id.data()), id.size());
    if (secured_) {
      const char* user = zmq_msg_gets(frame.handle(), "User-Id");
      current_principal_ = user != nullptr ? user : "";
    }
    absl::Status status = Decode(frame, stats_.frames, [&](wire::Envelope::Reader env) {
      handler_(peer, env);
    });
    if (!status.ok()) {
      AGORA_LOG(WARNING, "router") << "dropped frame from a peer: " << status.message();
    }
  }
}

DealerSocket::DealerSocket(zmq::context_t& context, std::string endpoint, EventLoop& loop,
                           Handler handler, std::string routing_id, std::optional<CurveClient> curve)
    : context_(context),
      endpoint_(std::move(endpoint)),
      loop_(loop),
      handler_(std::move(handler)),
      routing_id_(std::move(routing_id)),
      curve_(std::move(curve)) {
  Open();
}

DealerSocket::~DealerSocket() {
  monitor_.reset();
  if (socket_) loop_.Unwatch(*socket_);
}

void DealerSocket::OnHandshakeFailure(const HandshakeFailure& f) {
  ++(f.refused ? stats_.handshakes_refused : stats_.handshakes_failed);
  if (on_handshake_failed_) on_handshake_failed_(f);
  const absl::Time now = loop_.Now();
  if (now - last_failure_logged_ < absl::Minutes(1)) return;  // it retries every few seconds
  last_failure_logged_ = now;
  if (f.refused) {
    AGORA_LOG(ERROR, "dealer") << endpoint_ << " refused this process's key (ZAP status "
                               << f.status << "): is its .pub file in the master's trusted keys?";
  } else {
    AGORA_LOG(ERROR, "dealer") << "the CURVE handshake with " << endpoint_
                               << " failed (protocol error " << f.status
                               << "): is --master-public-key the master's key, and is the master "
                                  "secured?";
  }
}

void DealerSocket::Open() {
  monitor_.reset();
  socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  SetCommonOptions(*socket_);
  if (curve_) {
    ApplyCurveClient(*socket_, *curve_);
    monitor_ = std::make_unique<SocketMonitor>(
        context_, *socket_, &loop_, [this](const HandshakeFailure& f) { OnHandshakeFailure(f); });
  }
  // One routing id for the life of this object, across reconnections, so
  // the server sees the same peer; random, so no two processes share one.
  if (routing_id_.empty()) routing_id_ = NewId("p");
  socket_->set(zmq::sockopt::routing_id, zmq::buffer(routing_id_));
  socket_->set(zmq::sockopt::reconnect_ivl, 100);
  socket_->set(zmq::sockopt::reconnect_ivl_max, 2000);
  try {
    if (!endpoint_.empty()) socket_->connect(endpoint_);
  } catch (const zmq::error_t& e) {
    AGORA_LOG(ERROR, "dealer") << "cannot connect to " << endpoint_ << ": " << e.what();
  }
  loop_.Watch(*socket_, [this] { OnReadable(); });
}

void DealerSocket::Reconnect() {
  monitor_.reset();
  loop_.Unwatch(*socket_);
  socket_.reset();
  Open();
}

bool DealerSocket::Send(capnp::MessageBuilder& message) {
  try {
    zmq::message_t frame = Encode(message);
    if (!socket_->send(frame, zmq::send_flags::dontwait)) {
      ++stats_.send_dropped;
      return false;
    }
  } catch (const zmq::error_t& e) {
    ++stats_.send_dropped;
    return false;
  }
  ++stats_.sent;
  return true;
}

void DealerSocket::OnReadable() {
  for (int n = 0; n < kMaxBatch; ++n) {
    zmq::message_t frame;
    zmq::recv_result_t got;
    try {
      got = socket_->recv(frame, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      return;
    }
    if (!got) return;
    if (frame.more()) {  // we never send multipart to dealers
      ++stats_.bad_multipart;
      while (frame.more()) (void)socket_->recv(frame, zmq::recv_flags::none);
      continue;
    }
    absl::Status status = Decode(frame, stats_.frames, handler_);
    if (!status.ok()) {
      AGORA_LOG(WARNING, "dealer") << "dropped frame from " << endpoint_ << ": "
                                   << status.message();
    }
  }
}

}  // namespace agora
