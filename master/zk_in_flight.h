// A batch of asynchronous ZooKeeper calls in flight together: one round
// trip for the batch instead of one per call (the registry reads its 513
// buckets this way). The C client calls every completion exactly once, on
// its own thread, even when the connection or session is lost; the wait is
// bounded all the same. A completion that comes after the caller gave up
// still has its batch: the batch lives until the caller and every call are
// done with it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace agora::master {

// One call's answer.
struct ZkSlot {
  int rc = 0;         // ZOK, the client's or server's error, or ZOPERATIONTIMEOUT when unanswered in time
  std::string value;  // a get's data
};

class ZkInFlight {
 public:
  // Calls `issue(i, data)` for every i < n and waits up to `timeout` for
  // every answer. `issue` starts call i with `data` as its completion's data
  // and returns the client's code for the call itself (not ZOK: it will
  // never complete); the completion calls Answer(data, ...).
  static std::vector<ZkSlot> Run(size_t n, absl::Duration timeout,
                                 const std::function<int(size_t, const void*)>& issue);
  // From call `data`'s completion, once.
  static void Answer(const void* data, int rc, const char* value = nullptr, int length = 0);

 private:
  struct Call {
    ZkInFlight* batch;
    ZkSlot slot;
    bool answered = false;
  };
  explicit ZkInFlight(size_t n);
  // Records call's answer; true when the batch is now nobody's.
  bool Finish(Call& call, int rc, const char* value, int length);

  std::vector<Call> calls_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t unanswered_;
  bool waiting_ = true;  // the caller still waits: it frees the batch
};

}  // namespace agora::master
