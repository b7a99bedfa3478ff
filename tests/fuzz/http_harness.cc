#include "tests/fuzz/http_harness.h"

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/curve.h"
#include "common/http_token.h"
#include "common/sqlite_kv.h"
#include "frameworks/batch/batch_api.h"
#include "frameworks/service/service_api.h"

namespace agora::fuzz {

std::vector<HttpStep> ParseHttpSteps(const uint8_t* data, size_t size) {
  std::vector<HttpStep> steps;
  const std::string input(reinterpret_cast<const char*>(data), size);
  for (absl::string_view record : absl::StrSplit(input, '\0')) {
    if (steps.size() == 64) break;  // an input is a conversation, not a load test
    const size_t eol = record.find('\n');
    const absl::string_view head = record.substr(0, eol);
    std::vector<std::string> words = absl::StrSplit(head, absl::MaxSplits(' ', 2));
    if (words.size() != 3) continue;
    HttpStep step;
    step.target = words[0];
    step.request.method = words[1];
    const std::string& target = words[2];
    const size_t q = target.find('?');
    step.request.path = target.substr(0, q);
    if (q != std::string::npos) {
      for (absl::string_view pair : absl::StrSplit(target.substr(q + 1), '&')) {
        std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
        step.request.params[kv[0]] = kv.size() > 1 ? kv[1] : "";
      }
    }
    if (eol != absl::string_view::npos) step.request.body = std::string(record.substr(eol + 1));
    steps.push_back(std::move(step));
  }
  return steps;
}

struct HttpHarness::Daemons {
  Daemons()
      : batch_store(*SqliteKv::Open(":memory:", false)),
        services_store(*SqliteKv::Open(":memory:", false)),
        batch(*batch_store, batch::BatchOptions{}),
        services(*services_store),
        batch_driver(batch, sdk::FrameworkInfo{.name = "agora-batch"}, "inproc://agora-fuzz-nowhere"),
        services_driver(services, sdk::FrameworkInfo{.name = "agora-services"}, "inproc://agora-fuzz-nowhere"),
        verifier(*HttpTokenVerifier::Create(agent_keys, master_keys.public_key)) {
    (void)batch.Recover();
    (void)services.Recover();
    batch.Attach(batch_driver);
    services.Attach(services_driver);
  }

  std::unique_ptr<SqliteKv> batch_store, services_store;
  batch::BatchFramework batch;
  service::ServiceFramework services;
  sdk::SchedulerDriver batch_driver, services_driver;
  CurveKeyPair master_keys = GenerateCurveKeyPair();
  CurveKeyPair agent_keys = GenerateCurveKeyPair();
  HttpTokenVerifier verifier;
};

HttpHarness::HttpHarness() : daemons_(std::make_unique<Daemons>()) {}
HttpHarness::~HttpHarness() = default;

int HttpHarness::Apply(const HttpStep& step) {
  auto agents = [] { return std::vector<Resources>{Resources::Scalars(8, 16384, 100000)}; };
  HttpReply reply;
  if (step.target == "batch") {
    reply = batch::ServeBatchApi(daemons_->batch, agents, step.request);
  } else if (step.target == "services") {
    reply = service::ServeServiceApi(daemons_->services, agents, step.request);
  } else if (step.target == "token") {
    return daemons_->verifier.Verify(step.request.body, absl::Now()).ok() ? 200 : 0;
  } else {
    return 0;
  }
  if (reply.off_loop) reply = reply.off_loop();
  return reply.status;
}

}  // namespace agora::fuzz
