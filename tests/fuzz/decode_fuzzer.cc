// libFuzzer target: one frame through Decode(), the only way any process
// reads the wire, and every byte of the message it holds (totalSize walks
// and validates every pointer). Must never crash, whatever the bytes.
#include <cstddef>
#include <cstdint>

#include "common/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static agora::FrameStats stats;
  zmq::message_t frame(data, size);
  (void)agora::Decode(frame, stats, [](agora::wire::Envelope::Reader env) {
    (void)env.totalSize();
    (void)env.which();
  });
  return 0;
}
