#include "common/framing.h"

#include <cstring>

#include <capnp/serialize.h>
#include <kj/io.h>

#include "absl/strings/str_cat.h"

namespace agora {

wire::Envelope::Builder NewEnvelope(capnp::MessageBuilder& message, uint64_t request_id) {
  auto env = message.initRoot<wire::Envelope>();
  env.setVersion(wire::PROTOCOL_VERSION);
  env.setRequestId(request_id);
  return env;
}

zmq::message_t Encode(capnp::MessageBuilder& message) {
  const size_t words = capnp::computeSerializedSizeInWords(message);
  zmq::message_t frame(words * sizeof(capnp::word));
  kj::ArrayOutputStream out(
      kj::arrayPtr(static_cast<kj::byte*>(frame.data()), frame.size()));
  capnp::writeMessage(out, message);
  return frame;
}

absl::Status Decode(const zmq::message_t& frame, FrameStats& stats,
                    absl::FunctionRef<void(wire::Envelope::Reader)> handler,
                    const DecodeLimits& limits) {
  ++stats.received;
  const size_t size = frame.size();
  if (size == 0 || size % sizeof(capnp::word) != 0 || size > limits.max_frame_bytes) {
    ++stats.bad_size;
    return absl::InvalidArgumentError(absl::StrCat(
        "frame of ", size, " bytes: want a non-zero multiple of 8 up to ",
        limits.max_frame_bytes));
  }
  kj::Array<capnp::word> aligned;
  kj::ArrayPtr<const capnp::word> words;
  if (reinterpret_cast<uintptr_t>(frame.data()) % alignof(capnp::word) == 0) {
    words = kj::arrayPtr(static_cast<const capnp::word*>(frame.data()), size / sizeof(capnp::word));
  } else {
    ++stats.misaligned_copies;
    aligned = kj::heapArray<capnp::word>(size / sizeof(capnp::word));
    std::memcpy(aligned.begin(), frame.data(), size);
    words = aligned.asPtr();
  }
  capnp::ReaderOptions options;
  options.traversalLimitInWords = limits.traversal_limit_words;
  options.nestingLimit = limits.nesting_limit;
  try {
    capnp::FlatArrayMessageReader reader(words, options);
    auto env = reader.getRoot<wire::Envelope>();
    if (env.getVersion() != wire::PROTOCOL_VERSION) {
      ++stats.bad_version;
      return absl::InvalidArgumentError(absl::StrCat(
          "protocol version ", env.getVersion(), ", want ", wire::PROTOCOL_VERSION));
    }
    handler(env);
  } catch (const kj::Exception& e) {
    ++stats.bad_content;
    return absl::InvalidArgumentError(
        absl::StrCat("malformed frame: ", e.getDescription().cStr()));
  }
  return absl::OkStatus();
}

}  // namespace agora
