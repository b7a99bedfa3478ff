#include "common/zap_authenticator.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace agora {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

std::string BinaryKey(const std::string& z85) {
  std::array<uint8_t, 32> raw{};
  zmq_z85_decode(raw.data(), z85.c_str());
  return std::string(reinterpret_cast<const char*>(raw.data()), raw.size());
}

}  // namespace

ZapAuthenticator::ZapAuthenticator(zmq::context_t& context, EventLoop& loop)
    : loop_(loop), socket_(context, zmq::socket_type::rep) {}

absl::StatusOr<std::unique_ptr<ZapAuthenticator>> ZapAuthenticator::Start(
    zmq::context_t& context, EventLoop& loop, std::vector<CurvePrincipal> principals) {
  std::unique_ptr<ZapAuthenticator> zap(new ZapAuthenticator(context, loop));
  zap->principals_ = std::move(principals);
  for (size_t i = 0; i < zap->principals_.size(); ++i) {
    const CurvePrincipal& p = zap->principals_[i];
    if (!zap->by_name_.emplace(p.name, i).second) {
      return absl::InvalidArgumentError(absl::StrCat("two trusted keys are named '", p.name, "'"));
    }
    if (!zap->by_key_.emplace(BinaryKey(p.public_key), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("trusted key '", p.name, "' is the same key as another one"));
    }
  }
  try {
    zap->socket_.set(zmq::sockopt::linger, 0);
    zap->socket_.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return absl::InternalError(absl::StrCat("cannot bind the ZAP handler: ", e.what()));
  }
  ZapAuthenticator* self = zap.get();
  loop.Watch(zap->socket_, [self] { self->OnRequest(); });
  return zap;
}

ZapAuthenticator::~ZapAuthenticator() { loop_.Unwatch(socket_); }

const CurvePrincipal* ZapAuthenticator::Find(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &principals_[it->second];
}

void ZapAuthenticator::OnRequest() {
  while (true) {
    // version, request id, domain, address, routing id, mechanism, credentials...
    std::vector<zmq::message_t> frames;
    try {
      zmq::message_t part;
      if (!socket_.recv(part, zmq::recv_flags::dontwait)) return;
      frames.push_back(std::move(part));
      while (frames.back().more()) {
        zmq::message_t next;
        (void)socket_.recv(next, zmq::recv_flags::none);
        frames.push_back(std::move(next));
      }
    } catch (const zmq::error_t&) {
      return;
    }
    std::string status = "400", text = "unknown key", user;
    if (frames.size() < 7 || frames[0].to_string() != "1.0") {
      status = "500";
      text = "malformed ZAP request";
    } else if (frames[5].to_string() != "CURVE") {
      text = "CURVE required";
    } else if (auto it = by_key_.find(frames[6].to_string()); it != by_key_.end()) {
      status = "200";
      text = "OK";
      user = principals_[it->second].name;
    }
    const std::string address = frames.size() > 3 ? frames[3].to_string() : "?";
    if (status == "200") {
      ++admitted_;
      AGORA_LOG(INFO, "zap") << "admitted key '" << user << "' from " << address;
    } else {
      ++refused_;
      AGORA_LOG(WARNING, "zap") << "refused a peer from " << address << ": " << text;
    }
    const std::string request_id = frames.size() > 1 ? frames[1].to_string() : "";
    try {
      for (const std::string& part : {std::string("1.0"), request_id, status, text, user}) {
        socket_.send(zmq::buffer(part), zmq::send_flags::sndmore);
      }
      socket_.send(zmq::message_t(), zmq::send_flags::none);  // metadata: none
    } catch (const zmq::error_t& e) {
      AGORA_LOG(ERROR, "zap") << "cannot answer a ZAP request: " << e.what();
    }
  }
}

}  // namespace agora
