// libFuzzer target: frames from the master and from executors, and clock
// jumps, through a real Agent (its checkpoints in a scratch directory; its
// executors never started). Input format: tests/fuzz/fuzz_steps.h.
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  agora::fuzz::AgentHarness harness;
  for (const agora::fuzz::Step& step : agora::fuzz::ParseSteps(data, size)) harness.Apply(step);
  return 0;
}
