#include "agora/sdk/scheduler_driver.h"

#include "absl/strings/str_cat.h"
#include "frameworks/sdk/driver_core.h"

namespace agora::sdk {

SchedulerDriver::SchedulerDriver(Scheduler& scheduler, FrameworkInfo info, std::string master)
    : core_(std::make_unique<DriverCore>(*this, scheduler, std::move(info), std::move(master))) {}
SchedulerDriver::~SchedulerDriver() = default;

int SchedulerDriver::Run() { return core_->Run(); }
void SchedulerDriver::Stop(bool failover) { core_->Stop(failover); }
void SchedulerDriver::Post(std::function<void()> fn) { core_->loop().Post(std::move(fn)); }
SchedulerDriver::TimerId SchedulerDriver::After(absl::Duration delay, std::function<void()> fn) {
  return core_->loop().After(delay, std::move(fn));
}
SchedulerDriver::TimerId SchedulerDriver::Every(absl::Duration period, std::function<void()> fn) {
  return core_->loop().Every(period, std::move(fn));
}
void SchedulerDriver::Cancel(TimerId id) { core_->loop().Cancel(id); }
absl::Time SchedulerDriver::Now() const { return core_->loop().Now(); }
void SchedulerDriver::Launch(const std::vector<std::string>& offer_ids, const std::vector<TaskSpec>& tasks) {
  core_->Launch(offer_ids, tasks);
}
void SchedulerDriver::Decline(const std::vector<std::string>& offer_ids, absl::Duration refuse) {
  core_->Decline(offer_ids, refuse);
}
void SchedulerDriver::Kill(const std::string& task_id) { core_->Kill(task_id); }
void SchedulerDriver::Reconcile(const std::vector<std::string>& task_ids) { core_->Reconcile(task_ids); }
void SchedulerDriver::Suppress() { core_->Suppress(); }
void SchedulerDriver::Revive() { core_->Revive(); }
void SchedulerDriver::WantsOffersChanged() { core_->WantsOffersChanged(); }
void SchedulerDriver::SetEndpoint(std::string endpoint, std::string cert_sha256) {
  core_->SetEndpoint(std::move(endpoint), std::move(cert_sha256));
}
const std::string& SchedulerDriver::framework_id() const { return core_->framework_id(); }
bool SchedulerDriver::subscribed() const { return core_->subscribed(); }

DriverCore& CoreOf(SchedulerDriver& driver) { return *driver.core_; }
EventLoop& LoopOf(SchedulerDriver& driver) { return CoreOf(driver).loop(); }

std::optional<CurveKeys> ToCurveKeys(const std::optional<CurveClient>& client) {
  if (!client) return std::nullopt;
  return CurveKeys{client->own.secret_key, client->own.public_key, client->server_public_key};
}

std::optional<CurveClient> ToCurveClient(const std::optional<CurveKeys>& keys) {
  if (!keys) return std::nullopt;
  return CurveClient{{keys->public_key, keys->secret_key}, keys->master_public_key};
}

absl::StatusOr<CurveKeys> ReadCurveKeys(const std::string& secret_key_file,
                                        const std::string& master_public_key_file) {
  auto client = LoadCurveClient(secret_key_file, master_public_key_file);
  if (!client.ok()) return client.status();
  if (!client->has_value()) return absl::InvalidArgumentError("no key files named");
  return *ToCurveKeys(*client);
}

}  // namespace agora::sdk
