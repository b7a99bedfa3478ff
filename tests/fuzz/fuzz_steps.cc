#include "tests/fuzz/fuzz_steps.h"

#include <algorithm>

namespace agora::fuzz {

constexpr absl::Duration kTick = absl::Milliseconds(50);

std::vector<Step> ParseSteps(const uint8_t* data, size_t size) {
  std::vector<Step> steps;
  size_t at = 0;
  while (at < size) {
    const uint8_t op = data[at++];
    Step step;
    if (op & 0x80) {
      step.advance = (op & 0x7f) * kTick;
      steps.push_back(std::move(step));
      continue;
    }
    if (at + 2 > size) break;
    size_t length = data[at] | (size_t{data[at + 1]} << 8);
    at += 2;
    length = std::min(length, size - at);
    step.peer = op & 3;
    step.frame.assign(reinterpret_cast<const char*>(data + at), length & ~size_t{7});
    at += length;
    if (!step.frame.empty()) steps.push_back(std::move(step));
  }
  return steps;
}

std::string EncodeSteps(const std::vector<Step>& steps) {
  std::string out;
  for (const Step& s : steps) {
    if (s.is_advance()) {
      out.push_back(static_cast<char>(0x80 | std::min<int64_t>(0x7f, s.advance / kTick)));
      continue;
    }
    out.push_back(static_cast<char>(s.peer & 3));
    out.push_back(static_cast<char>(s.frame.size() & 0xff));
    out.push_back(static_cast<char>((s.frame.size() >> 8) & 0xff));
    out += s.frame;
  }
  return out;
}

Step FrameStep(int peer, const std::string& frame) {
  Step s;
  s.peer = peer;
  s.frame = frame;
  return s;
}

Step AdvanceStep(absl::Duration d) {
  Step s;
  s.advance = d;
  return s;
}

}  // namespace agora::fuzz
