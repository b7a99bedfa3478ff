// Framing: one Cap'n Proto Envelope per ZeroMQ frame, serialized flat.
//
// Decode is the one way any process reads a frame: it rejects sizes that are
// not a multiple of 8 or exceed the limit, copies misaligned frames into an
// aligned buffer (libzmq often hands them over misaligned), applies reader
// limits, and runs the handler inside a kj::Exception guard because Cap'n
// Proto validates lazily. A bad frame is counted in FrameStats and dropped;
// it never crashes the process. Not thread-safe: one FrameStats per loop.
//
// Example:
//   WireMessage msg;
//   auto env = NewEnvelope(msg);
//   env.initAgentHeartbeat().setAgentId(id);
//   socket.send(Encode(msg), zmq::send_flags::dontwait);
//   ...
//   absl::Status s = Decode(frame, stats, [&](wire::Envelope::Reader env) { ... });
#pragma once

#include <cstdint>
#include <functional>

#include <capnp/message.h>
#include <zmq.hpp>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "capnp/agora.capnp.h"

namespace agora {

struct FrameStats {
  uint64_t received = 0;
  uint64_t bad_size = 0;       // empty, not a multiple of 8, or over the limit
  uint64_t bad_content = 0;    // Cap'n Proto rejected it (truncated, garbage, limits)
  uint64_t bad_version = 0;    // Envelope.version is not ours
  uint64_t misaligned_copies = 0;
  uint64_t dropped() const { return bad_size + bad_content + bad_version; }
};

struct DecodeLimits {
  uint64_t max_frame_bytes = 64u << 20;
  uint64_t traversal_limit_words = 16u << 20;
  int nesting_limit = 32;
};

// The builder every message is made in: Cap'n Proto's default first segment
// is 8 KiB, which calloc zeroes for every message; most of ours fit in 256
// bytes, and larger ones grow into further segments. Measured: a heartbeat's
// encode and decode 291 -> 246 ns (bench/framing_bench).
class WireMessage : public capnp::MallocMessageBuilder {
 public:
  static constexpr unsigned kFirstSegmentWords = 32;
  WireMessage() : capnp::MallocMessageBuilder(kFirstSegmentWords) {}
};

// Starts an Envelope with our protocol version and the given request id.
wire::Envelope::Builder NewEnvelope(capnp::MessageBuilder& message, uint64_t request_id = 0);

// Serializes `message` into one ZeroMQ frame without an intermediate copy.
zmq::message_t Encode(capnp::MessageBuilder& message);

// Decodes `frame` and calls `handler` with its Envelope. Returns the reason
// when the frame was dropped (the handler's own kj::Exceptions included).
absl::Status Decode(const zmq::message_t& frame, FrameStats& stats,
                    absl::FunctionRef<void(wire::Envelope::Reader)> handler,
                    const DecodeLimits& limits = DecodeLimits());

}  // namespace agora
