// EmulatedFrameworks plays frameworks that launch tasks as fast as offers
// allow: every offer is filled with as many tasks as fit and accepted at
// once; or, with --rate, offers are held and launched at that pace (as a
// framework with a bounded launch rate does), so that latency is measured at
// a known throughput rather than in saturation. Every status update is
// acknowledged. They measure launch latency
// (accept sent -> RUNNING), offer latency (resources freed at the agent ->
// offered again, through EmulatedAgents) and expiry detection (agentLost).
// A framework the master no longer knows (a master restart) subscribes
// again with its id and reconciles its tasks. Loop thread only.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "bench/loadgen/emulated_agents.h"
#include "bench/loadgen/load.h"
#include "capnp/agora.capnp.h"
#include "common/event_loop.h"
#include "common/sockets.h"

namespace agora::loadgen {

class EmulatedFrameworks {
 public:
  EmulatedFrameworks(zmq::context_t& context, EventLoop& loop, const LoadOptions& options,
                     LoadCounts& counts, EmulatedAgents& agents);
  ~EmulatedFrameworks();
  // Moves every framework to `endpoint` (a newly elected master) and
  // subscribes it again there.
  void Retarget(const std::string& endpoint);

  int subscribed() const;
  // Launch from now on; RUNNING updates before `window_end` count in the window.
  void StartLaunching(absl::Time window_end);
  // Decline further offers (for a long time) and launch nothing more.
  void StopLaunching() { launching_ = false; }
  // Tasks launched that have not reached a terminal state.
  size_t outstanding() const;
  // Removes the frameworks from the master (their tasks are killed).
  void Teardown();

 private:
  struct Launched {
    absl::Time accepted;
    absl::Time heard;  // the latest update about it
    bool running = false;
  };
  struct Framework {
    int index = 0;
    std::string id;  // empty until subscribed
    bool subscribing = false;
    absl::Time subscribe_sent;
    absl::Time resubscribed_at = absl::InfinitePast();  // reconciling since
    std::unique_ptr<DealerSocket> socket;
    uint64_t next_task = 0;
    absl::flat_hash_map<std::string, Launched> launched;  // not yet terminal
    uint64_t next_request = 1000;  // below: subscriptions
    absl::flat_hash_map<uint64_t, std::vector<std::string>> accepts;  // unanswered: their tasks
  };

  void OnMessage(Framework& fw, wire::Envelope::Reader env);
  void OnOffers(Framework& fw, wire::Offers::Reader offers);
  void OnStatus(Framework& fw, wire::TaskStatus::Reader status);
  void Launch(Framework& fw, const std::string& offer_id, int count);
  void LaunchHeld();
  void Subscribe(Framework& fw);
  void Heartbeat();  // and retries subscriptions, and reconciles
  void Reconcile(Framework& fw);

  EventLoop& loop_;
  const LoadOptions& options_;
  LoadCounts& counts_;
  EmulatedAgents& agents_;
  std::vector<std::unique_ptr<Framework>> frameworks_;
  bool launching_ = false;
  bool torn_down_ = false;
  absl::Time window_end_ = absl::InfinitePast();
  EventLoop::TimerId heartbeat_timer_ = 0;
  // --rate: offers wait here, oldest first, for launch tokens.
  struct Held {
    Framework* framework;
    std::string offer_id;
    int fit;
  };
  std::deque<Held> held_;
  double tokens_ = 0;
  absl::Time last_refill_;
  EventLoop::TimerId pace_timer_ = 0;
};

}  // namespace agora::loadgen
