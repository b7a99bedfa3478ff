// libFuzzer target: hostile requests to agora-batch's and agora-services'
// APIs and to a daemon's bearer-token check. Input format:
// tests/fuzz/http_harness.h.
#include "tests/fuzz/http_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  agora::fuzz::HttpHarness harness;
  for (const agora::fuzz::HttpStep& step : agora::fuzz::ParseHttpSteps(data, size)) harness.Apply(step);
  return 0;
}
