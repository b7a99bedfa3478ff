#include "frameworks/sdk/master_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <capnp/message.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/framing.h"
#include "common/leader_detector.h"
#include "common/unique_fd.h"
#include "common/wire_convert.h"

namespace agora::sdk {
namespace {

// Why nothing answers at the ZeroMQ `endpoint` whose connection attempts
// fail: its host does not resolve, or a plain connect's error; nullopt when
// a plain connect succeeds now (the master is back: keep waiting).
std::optional<std::string> WhyUnreachable(const std::string& endpoint) {
  if (absl::StartsWith(endpoint, "ipc://")) {
    return absl::StrCat("nothing listens at ", endpoint, ": is agora-master running there?");
  }
  absl::string_view rest = absl::StripPrefix(endpoint, "tcp://");
  const size_t colon = rest.rfind(':');
  std::string host(rest.substr(0, colon == absl::string_view::npos ? rest.size() : colon));
  const std::string port(colon == absl::string_view::npos ? "" : rest.substr(colon + 1));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return absl::StrCat("cannot reach the master at ", endpoint, ": its host '", host,
                        "' does not resolve (", ::gai_strerror(rc), ")");
  }
  int error = 0;
  const UniqueFd fd(::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    error = errno;
  } else if (::connect(fd.get(), found->ai_addr, found->ai_addrlen) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      pollfd p{fd.get(), POLLOUT, 0};
      socklen_t len = sizeof(error);
      error = ::poll(&p, 1, 300) == 1 && ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0
                  ? error
                  : ETIMEDOUT;
    }
  }
  ::freeaddrinfo(found);
  if (error == 0) return std::nullopt;
  const std::string why = std::strerror(error);
  return absl::StrCat("cannot reach the master at ", endpoint, ": ", why,
                      " (is agora-master running, and is this its --listen address?)");
}

}  // namespace

MasterClient::MasterClient(std::string endpoint, absl::Duration timeout,
                           std::optional<CurveClient> curve)
    : endpoint_(std::move(endpoint)), timeout_(timeout), socket_(context_, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
  if (curve) ApplyCurveClient(socket_, *curve);
  secured_ = curve.has_value();
  // Also without keys: a secured master fails a plain client's handshake.
  monitor_ = std::make_unique<SocketMonitor>(
      context_, socket_, nullptr, [this](const HandshakeFailure& f) { handshake_failure_ = f; },
      [this] { connect_failed_ = true; });
}

MasterClient::~MasterClient() { monitor_.reset(); }

absl::StatusOr<std::string> MasterClient::Query(const std::string& query) {
  WireMessage msg;
  const uint64_t rid = next_request_id_++;
  NewEnvelope(msg, rid).initOperatorQuery().setQuery(query);
  return Call(msg, rid);
}

absl::StatusOr<HttpAccess> MasterClient::HttpAccessTo(const std::string& target) {
  WireMessage msg;
  const uint64_t rid = next_request_id_++;
  NewEnvelope(msg, rid).initHttpAccessRequest().setTarget(target);
  HttpAccess access;
  auto answer = Call(msg, rid, [&](wire::Envelope::Reader env) {
    if (!env.isHttpAccess()) return false;
    auto a = env.getHttpAccess();
    access.url = a.getUrl();
    access.cert_sha256 = a.getCertSha256();
    access.token = a.getToken();
    if (a.getExpiresUnixMs() > 0) access.expires = absl::FromUnixMillis(a.getExpiresUnixMs());
    return true;
  });
  if (!answer.ok()) return answer.status();
  return access;
}

absl::Status MasterClient::KillTask(const std::string& task_id, const std::string& framework_id) {
  WireMessage msg;
  const uint64_t rid = next_request_id_++;
  auto kill = NewEnvelope(msg, rid).initOperatorKill();
  kill.setTaskId(task_id);
  kill.setFrameworkId(framework_id);
  return Call(msg, rid).status();
}

absl::Status MasterClient::AgentAction(const std::string& agent, const std::string& action,
                                       absl::Duration deadline) {
  WireMessage msg;
  const uint64_t rid = next_request_id_++;
  auto op = NewEnvelope(msg, rid).initOperatorAgent();
  op.setAgent(agent);
  if (action == "drain") {
    op.setAction(wire::OperatorAgent::Action::DRAIN);
  } else if (action == "undrain") {
    op.setAction(wire::OperatorAgent::Action::UNDRAIN);
  } else if (action == "gone") {
    op.setAction(wire::OperatorAgent::Action::GONE);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown agent action '", action, "'"));
  }
  op.setDeadlineMs(static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline))));
  return Call(msg, rid).status();
}

absl::Status MasterClient::Teardown(const std::string& framework_id) {
  WireMessage msg;
  const uint64_t rid = next_request_id_++;
  NewEnvelope(msg, rid).initOperatorTeardown().setFrameworkId(framework_id);
  return Call(msg, rid).status();
}

absl::Status MasterClient::SetRole(const std::string& role, double weight,
                                   const std::optional<Resources>& quota, bool remove_quota) {
  WireMessage msg;
  const uint64_t rid = next_request_id_++;
  auto op = NewEnvelope(msg, rid).initOperatorRole();
  op.setRole(role);
  op.setWeight(weight);
  if (quota) {
    op.setQuota(wire::OperatorRole::QuotaAction::SET);
    ToWire(*quota, op.initLimit());
  } else if (remove_quota) {
    op.setQuota(wire::OperatorRole::QuotaAction::REMOVE);
  }
  return Call(msg, rid).status();
}

absl::Status MasterClient::Connect() {
  if (connected_) return absl::OkStatus();
  if (IsZkUrl(endpoint_)) {
    auto leader = FindLeader(endpoint_, timeout_);
    if (!leader.ok()) return leader.status();
    endpoint_ = leader->endpoint;
  }
  if (!absl::StartsWith(endpoint_, "tcp://") && !absl::StartsWith(endpoint_, "ipc://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", endpoint_, "' is not the master's address: that is its ZeroMQ endpoint, tcp://HOST:PORT "
        "(port 5050 unless its --listen says otherwise), or zk://HOST:PORT,.../PATH",
        absl::StartsWith(endpoint_, "http") ? ", not its HTTP URL" : ""));
  }
  try {
    socket_.connect(endpoint_);
  } catch (const zmq::error_t& e) {
    return absl::InvalidArgumentError(absl::StrCat("bad master endpoint '", endpoint_, "': ", e.what()));
  }
  connected_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> MasterClient::Call(capnp::MessageBuilder& msg, uint64_t rid,
                                               const std::function<bool(wire::Envelope::Reader)>& take) {
  auto answer = CallOnce(msg, rid, take);
  if (redirect_.empty()) return answer;
  // A standby named the leader: ask it instead.
  try {
    socket_.disconnect(endpoint_);
  } catch (const zmq::error_t&) {
  }
  endpoint_ = std::exchange(redirect_, "");
  connected_ = false;
  answer = CallOnce(msg, rid, take);
  redirect_.clear();
  return answer;
}

absl::StatusOr<std::string> MasterClient::CallOnce(capnp::MessageBuilder& msg, uint64_t rid,
                                                   const std::function<bool(wire::Envelope::Reader)>& take) {
  if (absl::Status s = Connect(); !s.ok()) return s;
  // What failed before this call is history (the master may be back): only
  // a failure seen from now on counts.
  monitor_->Drain();
  connect_failed_ = false;
  handshake_failure_.reset();
  zmq::message_t frame = Encode(msg);
  socket_.send(frame, zmq::send_flags::none);

  const absl::Time deadline = absl::Now() + timeout_;
  FrameStats stats;
  while (absl::Now() < deadline) {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                               {monitor_->pair().handle(), 0, ZMQ_POLLIN, 0}};
    auto left = std::chrono::milliseconds(absl::ToInt64Milliseconds(deadline - absl::Now()) + 1);
    zmq::poll(items, 2, left);
    if (items[1].revents & ZMQ_POLLIN) monitor_->Drain();
    if (handshake_failure_) {
      return absl::PermissionDeniedError(
          handshake_failure_->refused
              ? absl::StrCat("the master at ", endpoint_,
                             " refused this key: is its .pub file in the master's trusted keys?")
          : secured_
              ? absl::StrCat("the secure handshake with ", endpoint_, " failed: is ",
                             "--master-public-key the master's key, and is the master secured?")
              : absl::StrCat("the master at ", endpoint_, " is secured with CurveZMQ: give "
                             "--curve-secret-key and --master-public-key (or AGORA_CURVE_SECRET_KEY "
                             "and AGORA_MASTER_PUBLIC_KEY)"));
    }
    if (connect_failed_ && !(items[0].revents & ZMQ_POLLIN)) {
      // (Checked after the handshake, which is retried as a new connection
      // when it fails, and after any answer already here.)
      connect_failed_ = false;
      if (auto why = WhyUnreachable(endpoint_)) return absl::UnavailableError(*why);
    }
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
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
        const std::string message = env.getError().getMessage().cStr();
        if (env.getError().getCode() == wire::ErrorCode::NOT_LEADER) {
          redirect_ = env.getError().getLeader().cStr();
          result = absl::UnavailableError(message);
          return;
        }
        switch (env.getError().getCode()) {
          case wire::ErrorCode::PERMISSION_DENIED: result = absl::PermissionDeniedError(message); break;
          case wire::ErrorCode::NOT_FOUND: result = absl::NotFoundError(message); break;
          case wire::ErrorCode::FAILED_PRECONDITION: result = absl::FailedPreconditionError(message); break;
          case wire::ErrorCode::UNAVAILABLE: result = absl::UnavailableError(message); break;
          default: result = absl::InvalidArgumentError(message);
        }
      } else if (take && take(env)) {
        result = std::string();
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
