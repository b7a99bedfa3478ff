// libFuzzer target: a sequence of frames from four peers, and clock jumps,
// through a real Master (every handler, the allocator, expiry, offer
// timeouts). Bad input must be answered or dropped, never crash or trip an
// invariant. Input format: tests/fuzz/fuzz_steps.h.
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  agora::fuzz::MasterHarness harness;
  for (const agora::fuzz::Step& step : agora::fuzz::ParseSteps(data, size)) harness.Apply(step);
  return 0;
}
