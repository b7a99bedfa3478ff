// The input of the master and agent fuzzers: a sequence of steps, each a
// frame from one of a few peers or a jump of the fake clock.
//
//   frame:   [peer < 0x80] [length: 2 bytes, little endian] [frame bytes]
//   advance: [0x80 | n]    the clock moves n x 50 ms and due timers run
//
// Frames keep whole 8-byte words (the rest is dropped), so that mutations
// reach the decoder's inner layers instead of its size check. Seeds are
// written with EncodeSteps (tests/fuzz/make_corpus.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace agora::fuzz {

struct Step {
  int peer = 0;             // frames: which peer sends it (0..3)
  std::string frame;        // empty for an advance
  absl::Duration advance;   // for an advance
  bool is_advance() const { return frame.empty(); }
};

std::vector<Step> ParseSteps(const uint8_t* data, size_t size);
std::string EncodeSteps(const std::vector<Step>& steps);

// A step carrying a built message, and one moving the clock.
Step FrameStep(int peer, const std::string& frame);
Step AdvanceStep(absl::Duration d);

}  // namespace agora::fuzz
