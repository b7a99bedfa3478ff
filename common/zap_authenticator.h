// ZapAuthenticator answers ZeroMQ's authentication requests (ZAP, RFC 27)
// for the CURVE server sockets of its context: a client whose public key
// belongs to one of `principals` is admitted, and every message it sends
// carries that principal's name as its User-Id (RouterSocket passes it on);
// any other client is refused during the handshake, logged with its address,
// and counted. Bind it before the server socket binds: without a handler,
// libzmq would admit every key. Loop thread only.
//
// Example:
//   auto zap = ZapAuthenticator::Start(context, loop, *ReadCurvePublicKeys(dir));
//   auto router = RouterSocket::Bind(context, endpoint, loop, handler, secret_key);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/curve.h"
#include "common/event_loop.h"

namespace agora {

class ZapAuthenticator {
 public:
  // Names and keys must be unique; InvalidArgument names the duplicate.
  static absl::StatusOr<std::unique_ptr<ZapAuthenticator>> Start(
      zmq::context_t& context, EventLoop& loop, std::vector<CurvePrincipal> principals);
  ~ZapAuthenticator();

  // The principal admitted under `name` (a message's User-Id); null if none.
  const CurvePrincipal* Find(absl::string_view name) const;
  const std::vector<CurvePrincipal>& principals() const { return principals_; }
  uint64_t admitted() const { return admitted_; }
  uint64_t refused() const { return refused_; }

 private:
  ZapAuthenticator(zmq::context_t& context, EventLoop& loop);
  void OnRequest();

  EventLoop& loop_;
  zmq::socket_t socket_;
  std::vector<CurvePrincipal> principals_;
  absl::flat_hash_map<std::string, size_t> by_key_;   // binary public key -> index
  absl::flat_hash_map<std::string, size_t> by_name_;  // name -> index
  uint64_t admitted_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace agora
