// agora-example-spread: a complete framework in one page.
//
// It runs one copy of a command on each of N distinct hosts, retries a copy
// that fails (up to --retries times, on any host not used yet), and exits 0
// when every copy finished with status 0. It shows the whole SDK contract:
// react to offers, launch, handle updates, and say when you want no offers.
//
//   agora-example-spread --master tcp://127.0.0.1:5050 --hosts 2 -- hostname
#include <iostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/cli.h"
#include "frameworks/sdk/scheduler_driver.h"

namespace {

using namespace agora;

class SpreadScheduler final : public sdk::Scheduler {
 public:
  SpreadScheduler(std::string command, int hosts, int retries)
      : command_(std::move(command)), wanted_(hosts), retries_left_(retries) {}

  void Offers(sdk::SchedulerDriver& driver, const std::vector<sdk::Offer>& offers) override {
    const Resources need = Resources::Scalars(0.1, 32, 0);
    for (const sdk::Offer& offer : offers) {
      // One copy per host: skip hosts we already use. Offers we do not
      // answer are declined by the driver.
      if (running_ + succeeded_ >= wanted_ || used_hosts_.contains(offer.hostname)) continue;
      if (!offer.resources.Contains(need)) continue;
      TaskSpec task;
      task.task_id = absl::StrCat("copy-", next_id_++);
      task.command = command_;
      task.resources = need;
      driver.Launch({offer.id}, {task});
      used_hosts_.insert(offer.hostname);
      ++running_;
      std::cout << task.task_id << " -> " << offer.hostname << std::endl;
    }
  }

  void Update(sdk::SchedulerDriver& driver, const TaskStatus& status) override {
    std::cout << status.task_id << " " << TaskStateName(status.state) << " " << status.message
              << std::endl;
    if (!IsTerminal(status.state)) return;
    --running_;
    if (status.state == TaskState::kFinished) {
      ++succeeded_;
    } else if (retries_left_-- <= 0) {
      failed_ = true;
    }
    if (succeeded_ == wanted_ || (failed_ && running_ == 0)) driver.Stop(/*failover=*/false);
  }

  // While every copy is placed, ask for no offers: the driver suppresses.
  bool WantsOffers() const override { return !failed_ && running_ + succeeded_ < wanted_; }
  bool ok() const { return succeeded_ == wanted_; }

 private:
  std::string command_;
  int wanted_;
  int retries_left_;
  int running_ = 0;
  int succeeded_ = 0;
  int next_id_ = 0;
  bool failed_ = false;
  std::set<std::string> used_hosts_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"agora-example-spread: runs a command once on each of N hosts"};
  std::string master = "tcp://127.0.0.1:5050";
  int hosts = 2, retries = 2;
  std::vector<std::string> command;
  app.add_option("--master", master)->envname("AGORA_MASTER");
  app.add_option("--hosts", hosts)->check(CLI::PositiveNumber);
  app.add_option("--retries", retries)->check(CLI::NonNegativeNumber);
  app.add_option("command", command)->required();
  if (int rc = agora::ParseCommandLine(app, argc, argv); rc >= 0) return rc;

  std::string joined;
  for (const std::string& word : command) joined += (joined.empty() ? "" : " ") + word;
  SpreadScheduler scheduler(joined, hosts, retries);
  agora::sdk::FrameworkInfo info;
  info.name = "example-spread";
  info.failover_timeout = absl::ZeroDuration();
  agora::sdk::SchedulerDriver driver(scheduler, info, master);
  driver.Run();
  return scheduler.ok() ? 0 : 1;
}
