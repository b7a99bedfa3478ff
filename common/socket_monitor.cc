#include "common/socket_monitor.h"

#include <atomic>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace agora {
namespace {

constexpr int kEvents = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                        ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

std::string MonitorEndpoint() {
  static std::atomic<uint64_t> next{0};
  return absl::StrCat("inproc://agora-monitor-", next++);
}

}  // namespace

SocketMonitor::SocketMonitor(zmq::context_t& context, zmq::socket_t& socket, EventLoop* loop,
                             Handler handler, std::function<void()> on_connect_failed)
    : socket_(socket),
      loop_(loop),
      pair_(context, zmq::socket_type::pair),
      handler_(std::move(handler)),
      on_connect_failed_(std::move(on_connect_failed)) {
  const std::string endpoint = MonitorEndpoint();
  zmq_socket_monitor(socket_.handle(), endpoint.c_str(),
                     kEvents | (on_connect_failed_ ? ZMQ_EVENT_CONNECT_RETRIED : 0));
  pair_.set(zmq::sockopt::linger, 0);
  pair_.connect(endpoint);
  if (loop_ != nullptr) loop_->Watch(pair_, [this] { Drain(); });
}

SocketMonitor::~SocketMonitor() {
  if (loop_ != nullptr) loop_->Unwatch(pair_);
  zmq_socket_monitor(socket_.handle(), nullptr, 0);
}

void SocketMonitor::Drain() {
  while (true) {
    zmq::message_t event, endpoint;
    zmq::recv_result_t got;
    try {
      got = pair_.recv(event, zmq::recv_flags::dontwait);
      if (!got) return;
      if (event.more()) (void)pair_.recv(endpoint, zmq::recv_flags::none);
    } catch (const zmq::error_t&) {
      return;
    }
    if (event.size() < 6) continue;
    uint16_t id = 0;
    uint32_t value = 0;
    std::memcpy(&id, event.data(), sizeof(id));
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof(value));
    if (id == ZMQ_EVENT_CONNECT_RETRIED) {
      if (on_connect_failed_) on_connect_failed_();
      continue;
    }
    HandshakeFailure failure;
    failure.refused = id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    failure.status = static_cast<int>(value);
    failure.endpoint = endpoint.to_string();
    handler_(failure);
  }
}

}  // namespace agora
