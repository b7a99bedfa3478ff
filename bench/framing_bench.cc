// Encode + decode of the two messages that dominate the wire: an agent
// heartbeat, and an Offers message carrying 100 offers.
//
//   build/bench/framing_bench
#include <benchmark/benchmark.h>
#include <capnp/message.h>

#include "absl/strings/str_cat.h"
#include "common/framing.h"
#include "common/wire_convert.h"

namespace agora {
namespace {

void BM_HeartbeatEncodeDecode(benchmark::State& state) {
  FrameStats stats;
  for (auto _ : state) {
    WireMessage msg;
    NewEnvelope(msg).initAgentHeartbeat().setAgentId("a-3f09c1d2e4b5a697");
    zmq::message_t frame = Encode(msg);
    absl::Status s = Decode(frame, stats, [](wire::Envelope::Reader env) {
      benchmark::DoNotOptimize(env.getAgentHeartbeat().getAgentId().size());
    });
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HeartbeatEncodeDecode);


void BM_OffersEncodeDecode(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  Resources resources = *Resources::Parse("cpus:24;mem:4096;disk:4096;ports:[31000-32000]");
  Env attributes = {{"zone", "a"}, {"rack", "r1"}};
  FrameStats stats;
  size_t bytes = 0;
  for (auto _ : state) {
    WireMessage msg;
    auto offers = NewEnvelope(msg).initOffers().initOffers(count);
    for (int i = 0; i < count; ++i) {
      offers[i].setOfferId(absl::StrCat("o-", 1000000 + i));
      offers[i].setAgentId(absl::StrCat("a-", 2000000 + i));
      offers[i].setHostname(absl::StrCat("host-", i));
      ToWire(attributes, offers[i].initAttributes(attributes.size()));
      ToWire(resources, offers[i].initResources());
    }
    zmq::message_t frame = Encode(msg);
    bytes = frame.size();
    absl::Status s = Decode(frame, stats, [](wire::Envelope::Reader env) {
      double cpus = 0;
      for (auto o : env.getOffers().getOffers()) cpus += FromWire(o.getResources()).cpus();
      benchmark::DoNotOptimize(cpus);
    });
    benchmark::DoNotOptimize(s);
  }
  state.counters["frame_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OffersEncodeDecode)->Arg(100);

}  // namespace
}  // namespace agora

BENCHMARK_MAIN();
