// RecordingTransport keeps every message sent through it, serialized as on
// the wire, so tests can read back what the master (or agent) sent to whom.
// Test-thread only.
#pragma once

#include <memory>
#include <vector>

#include <capnp/serialize.h>

#include "common/framing.h"
#include "common/transport.h"

namespace agora::testing {

class RecordingTransport final : public Transport {
 public:
  struct Message {
    PeerId peer;
    kj::Array<capnp::word> words;
    std::unique_ptr<capnp::FlatArrayMessageReader> reader;
    wire::Envelope::Reader env() const { return reader->getRoot<wire::Envelope>(); }
  };

  bool Send(const PeerId& peer, capnp::MessageBuilder& message) override {
    auto m = std::make_unique<Message>();
    m->peer = peer;
    m->words = capnp::messageToFlatArray(message);
    m->reader = std::make_unique<capnp::FlatArrayMessageReader>(m->words.asPtr());
    sent_.push_back(std::move(m));
    return true;
  }

  // Removes and returns the messages sent to `peer` of kind `which`.
  std::vector<std::unique_ptr<Message>> Take(const PeerId& peer, wire::Envelope::Which which) {
    std::vector<std::unique_ptr<Message>> out, keep;
    for (auto& m : sent_) {
      (m->peer == peer && m->env().which() == which ? out : keep).push_back(std::move(m));
    }
    sent_ = std::move(keep);
    return out;
  }
  size_t Count(const PeerId& peer, wire::Envelope::Which which) const {
    size_t n = 0;
    for (const auto& m : sent_) n += m->peer == peer && m->env().which() == which;
    return n;
  }
  void Clear() { sent_.clear(); }
  // Drops every recorded message of one kind.
  void Clear(wire::Envelope::Which which) {
    std::erase_if(sent_, [&](const auto& m) { return m->env().which() == which; });
  }

 private:
  std::vector<std::unique_ptr<Message>> sent_;
};

}  // namespace agora::testing
