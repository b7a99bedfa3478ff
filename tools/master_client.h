// MasterClient asks the master one question at a time and waits for the
// answer with a deadline: the CLI's request/reply path for operator queries.
// Not thread-safe; one per thread.
#pragma once

#include <string>

#include <zmq.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace agora::tools {

class MasterClient {
 public:
  MasterClient(std::string endpoint, absl::Duration timeout);
  // The JSON text the master returns for `query` (agents, frameworks, tasks,
  // offers, stats). Unavailable when the master does not answer in time.
  absl::StatusOr<std::string> Query(const std::string& query);

 private:
  std::string endpoint_;
  absl::Duration timeout_;
  zmq::context_t context_;
  zmq::socket_t socket_;
  uint64_t next_request_id_ = 1;
};

}  // namespace agora::tools
