// What the fuzzers (and the corpus replay test) drive: a real Master, or a
// real Agent, fed decoded frames one step at a time on a fake clock, with
// ids from a fixed seed so that a seed's later frames can name the ids its
// earlier ones created. Bad frames must be counted and dropped, never crash.
// Not thread-safe; one at a time.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "agent/agent.h"
#include "common/clock.h"
#include "common/event_loop.h"
#include "common/framing.h"
#include "master/master.h"
#include "tests/fuzz/fuzz_steps.h"

namespace agora::fuzz {

// Serializes what it is given, as the wire would (capnp validates it).
std::string Serialize(capnp::MessageBuilder& msg);

// Keeps what the master sends, for corpus generators; a fuzzer ignores it.
class SentMessages final : public Transport {
 public:
  bool Send(const PeerId& peer, capnp::MessageBuilder& message) override;
  std::vector<std::pair<PeerId, std::string>> Take();  // (peer, frame), oldest first
  bool keep = false;

 private:
  std::vector<std::pair<PeerId, std::string>> sent_;
};

class MasterHarness {
 public:
  MasterHarness();
  ~MasterHarness();
  void Apply(const Step& step);
  SentMessages& sent() { return sent_; }
  static const char* PeerName(int peer);

 private:
  FakeClock clock_;
  std::unique_ptr<EventLoop> loop_;
  SentMessages sent_;
  std::unique_ptr<master::Master> master_;
  FrameStats stats_;
};

// Peer 0 is the master; peers 1..3 are the executors the agent started, in
// order (an unknown executor until there is one).
class AgentHarness {
 public:
  // `capture`: messages the agent sends the master are kept (TakeSent()).
  explicit AgentHarness(bool capture = false);
  ~AgentHarness();
  void Apply(const Step& step);
  std::vector<std::string> TakeSent();  // frames the agent sent the master
  const std::vector<std::string>& executors() const { return *executors_; }

 private:
  FakeClock clock_;
  std::unique_ptr<EventLoop> loop_;
  std::string work_dir_;
  std::shared_ptr<std::vector<std::string>> executors_;  // shared with the launcher
  std::unique_ptr<zmq::socket_t> master_side_;            // where the agent's master socket leads
  bool capture_ = false;
  std::unique_ptr<agent::Agent> agent_;
  FrameStats stats_;
};

// One process-wide ZeroMQ context for the harnesses' sockets.
zmq::context_t& FuzzContext();

}  // namespace agora::fuzz
