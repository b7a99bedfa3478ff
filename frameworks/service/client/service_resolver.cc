#include "frameworks/service/client/service_resolver.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "frameworks/sdk/master_client.h"

namespace agora::service::client {

using nlohmann::json;

absl::StatusOr<std::string> ServicesApiFromMaster(const std::string& master, absl::Duration timeout) {
  sdk::MasterClient client(master, timeout);
  auto access = client.HttpAccessTo("framework:agora-services");
  if (!access.ok()) return access.status();
  return access->url;
}

ServiceResolver::ServiceResolver(std::string service, Options options)
    : service_(std::move(service)), options_(std::move(options)), picker_(options_.policy) {}

absl::StatusOr<std::unique_ptr<ServiceResolver>> ServiceResolver::Create(std::string service, Options options) {
  std::unique_ptr<ServiceResolver> r(new ServiceResolver(std::move(service), std::move(options)));
  auto first = r->Fetch();
  if (!first.ok()) return first.status();
  r->picker_.Update(*first);
  r->thread_ = std::thread([raw = r.get()] { raw->RefreshLoop(); });
  return r;
}

ServiceResolver::~ServiceResolver() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status ServiceResolver::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

absl::StatusOr<std::vector<Endpoint>> ServiceResolver::Fetch() const {
  httplib::Client http(options_.api_url);
  const int64_t ms = absl::ToInt64Milliseconds(options_.timeout);
  http.set_connection_timeout(ms / 1000, (ms % 1000) * 1000);
  http.set_read_timeout(ms / 1000, (ms % 1000) * 1000);
  std::string path = absl::StrCat("/v1/services/", service_, "/endpoints");
  if (!options_.port.empty()) absl::StrAppend(&path, "?port=", options_.port);
  auto res = http.Get(path);
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("agora-services at ", options_.api_url, " did not answer: ", httplib::to_string(res.error())));
  }
  json body = json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    const std::string why = body.is_object() ? body.value("error", res->body) : res->body;
    return res->status == 404 ? absl::NotFoundError(why) : absl::FailedPreconditionError(why);
  }
  if (!body.is_array()) return absl::InternalError(absl::StrCat("unexpected endpoints answer: ", res->body));
  std::vector<Endpoint> out;
  for (const json& e : body) {
    out.push_back({e.value("task_id", ""), e.value("host", ""), e.value("address", e.value("host", "")),
                   e.value("port", 0u), e.value("weight", 1.0)});
  }
  return out;
}

void ServiceResolver::Refresh() {
  auto endpoints = Fetch();
  std::lock_guard lock(mu_);
  last_error_ = endpoints.status();
  if (!endpoints.ok() || *endpoints == picker_.Endpoints()) return;  // keep the last known set
  picker_.Update(*endpoints);
  ++changes_;
}

void ServiceResolver::RefreshLoop() {
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.refresh), [&] { return stop_; })) {
    lock.unlock();
    Refresh();
    lock.lock();
  }
}

}  // namespace agora::service::client
