// HeldTransport keeps every outgoing message until the registry writes made
// before it are durable, so no peer hears of a change that a crash could
// still undo; messages that follow no pending write pass straight through.
//
// Writes are grouped into numbered batches (the registry's group commits):
// Hold() says the open batch has a write that later messages must wait for;
// Seal() closes the open batch as it goes to disk; Durable(n) says batch n
// and every one before it are on disk, and sends, in order, what waited for
// them. Batches that need no waiting (lazy writes) never call Hold().
// While paused (a leader that lost ZooKeeper, master/master_election.h),
// every message waits; Resume() sends, in order, what may go.
// Master loop only.
#pragma once

#include <cstdint>
#include <deque>
#include <utility>

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
    if (!paused_ && barrier_ <= durable_) return inner_.Send(peer, message);
    held_.push_back({barrier_, peer, capnp::messageToFlatArray(message)});
    return true;
  }
  void Hold() { barrier_ = open_; }
  uint64_t Seal() { return open_++; }
  void Pause() { paused_ = true; }
  void Resume() {
    paused_ = false;
    Durable(durable_);
  }
  void Durable(uint64_t batch) {
    durable_ = batch;
    while (!paused_ && !held_.empty() && held_.front().batch <= durable_) {
      capnp::FlatArrayMessageReader reader(held_.front().words.asPtr());
      WireMessage copy;
      copy.setRoot(reader.getRoot<wire::Envelope>());
      inner_.Send(held_.front().peer, copy);
      held_.pop_front();
    }
  }

 private:
  struct Held {
    uint64_t batch;  // sent once this batch is durable
    PeerId peer;
    kj::Array<capnp::word> words;
  };
  Transport& inner_;
  uint64_t open_ = 1;     // the batch that writes go into now
  uint64_t barrier_ = 0;  // the latest batch a message must wait for
  uint64_t durable_ = 0;  // every batch up to this one is on disk
  bool paused_ = false;
  std::deque<Held> held_;
};

}  // namespace agora::master
