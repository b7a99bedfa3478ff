// HeldTransport passes messages straight through, except while held: then it
// keeps them, in order, until Release(). The master holds a turn's messages
// from its first registry write on, and releases them once the registry
// commit of that turn is durable, so no peer hears of a change that a crash
// could still undo. Master loop only.
#pragma once

#include <utility>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "capnp/agora.capnp.h"
#include "common/framing.h"
#include "common/transport.h"

namespace agora::master {

class HeldTransport final : public Transport {
 public:
  explicit HeldTransport(Transport& inner) : inner_(inner) {}

  bool Send(const PeerId& peer, capnp::MessageBuilder& message) override {
    if (!holding_) return inner_.Send(peer, message);
    held_.emplace_back(peer, capnp::messageToFlatArray(message));
    return true;
  }
  void Hold() { holding_ = true; }
  bool holding() const { return holding_; }
  // Sends what was held, in order, and passes messages through again.
  void Release() {
    holding_ = false;
    for (auto& [peer, words] : held_) {
      capnp::FlatArrayMessageReader reader(words.asPtr());
      WireMessage copy;
      copy.setRoot(reader.getRoot<wire::Envelope>());
      inner_.Send(peer, copy);
    }
    held_.clear();
  }

 private:
  Transport& inner_;
  bool holding_ = false;
  std::vector<std::pair<PeerId, kj::Array<capnp::word>>> held_;
};

}  // namespace agora::master
