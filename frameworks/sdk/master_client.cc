#include "frameworks/sdk/master_client.h"

#include <capnp/message.h>

#include "absl/strings/str_cat.h"
#include "common/framing.h"

namespace agora::sdk {

MasterClient::MasterClient(std::string endpoint, absl::Duration timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout), socket_(context_, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
}

absl::StatusOr<std::string> MasterClient::Query(const std::string& query) {
  capnp::MallocMessageBuilder msg;
  const uint64_t rid = next_request_id_++;
  NewEnvelope(msg, rid).initOperatorQuery().setQuery(query);
  return Call(msg, rid);
}

absl::Status MasterClient::KillTask(const std::string& task_id, const std::string& framework_id) {
  capnp::MallocMessageBuilder msg;
  const uint64_t rid = next_request_id_++;
  auto kill = NewEnvelope(msg, rid).initOperatorKill();
  kill.setTaskId(task_id);
  kill.setFrameworkId(framework_id);
  return Call(msg, rid).status();
}

absl::StatusOr<std::string> MasterClient::Call(capnp::MessageBuilder& msg, uint64_t rid) {
  if (!connected_) {
    try {
      socket_.connect(endpoint_);
    } catch (const zmq::error_t& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad master endpoint '", endpoint_, "': ", e.what()));
    }
    connected_ = true;
  }
  zmq::message_t frame = Encode(msg);
  socket_.send(frame, zmq::send_flags::none);

  const absl::Time deadline = absl::Now() + timeout_;
  FrameStats stats;
  while (absl::Now() < deadline) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    auto left = std::chrono::milliseconds(absl::ToInt64Milliseconds(deadline - absl::Now()) + 1);
    zmq::poll(&item, 1, left);
    if (!(item.revents & ZMQ_POLLIN)) continue;
    zmq::message_t reply;
    if (!socket_.recv(reply, zmq::recv_flags::dontwait)) continue;
    absl::StatusOr<std::string> result = absl::InternalError("no answer");
    bool answered = false;
    absl::Status decoded = Decode(reply, stats, [&](wire::Envelope::Reader env) {
      if (env.getRequestId() != rid) return;  // a late answer to an earlier question
      answered = true;
      if (env.isOperatorReply()) {
        result = std::string(env.getOperatorReply().getJson().cStr());
      } else if (env.isOk()) {
        result = std::string();
      } else if (env.isError()) {
        result = absl::InvalidArgumentError(env.getError().getMessage().cStr());
      } else {
        result = absl::InternalError("the master answered with an unexpected message");
      }
    });
    if (!decoded.ok()) return decoded;
    if (answered) return result;
  }
  return absl::UnavailableError(absl::StrCat("the master at ", endpoint_, " did not answer within ",
                                             absl::FormatDuration(timeout_)));
}

}  // namespace agora::sdk
