// What the HTTP fuzzer (and the corpus replay test) drives: the handlers
// behind the daemons' HTTP, with hostile requests. A real agora-batch and
// agora-services (each with an in-memory store and a driver whose master is
// nowhere) answer their APIs, and a daemon's token check answers bearer
// tokens. Every answer must be a status and a body: never a crash, a hang or
// undefined behaviour. Not thread-safe; one at a time.
//
// Input: requests separated by NUL bytes, each "TARGET METHOD PATH[?QUERY]"
// on its first line and the body after it; TARGET is batch, services or
// token (whose body is the token). Seeds: tests/fuzz/corpus/http.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/http_endpoint.h"

namespace agora::fuzz {

struct HttpStep {
  std::string target;
  HttpRequest request;
};

std::vector<HttpStep> ParseHttpSteps(const uint8_t* data, size_t size);

class HttpHarness {
 public:
  HttpHarness();
  ~HttpHarness();
  // The answer's status (0 for a token refused, 200 for one accepted).
  int Apply(const HttpStep& step);

 private:
  struct Daemons;
  std::unique_ptr<Daemons> daemons_;
};

}  // namespace agora::fuzz
