// Transport is the seam between core logic and ZeroMQ: the master (and the
// agent towards its executors) sends through it, tests record through it.
// Sending never blocks; a message that cannot be queued is dropped and
// counted, because every message that matters is retried by its sender.
#pragma once

#include <string>

#include <capnp/message.h>

namespace agora {

// The ZeroMQ routing id of a connected peer (opaque bytes).
using PeerId = std::string;

class Transport {
 public:
  virtual ~Transport() = default;
  // Returns false when the message was dropped (peer gone, queue full).
  virtual bool Send(const PeerId& peer, capnp::MessageBuilder& message) = 0;
};

}  // namespace agora
