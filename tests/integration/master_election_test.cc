// MasterElection against a real ZooKeeper server, candidates in this process
// (each on a loop of its own): a standby whose node is deleted contends
// again, a standby whose session expires contends again with a new one and
// leads once the leader is gone, and a leader whose session expires is
// deposed while the standby takes over.
#include "master/master_election.h"

#include <zookeeper/zookeeper.h>

#include <atomic>
#include <future>
#include <thread>
#include <type_traits>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/event_loop.h"
#include "tests/integration/zk_ensemble.h"

namespace agora::master {
namespace {

using testing::WaitFor;
using testing::ZkEnsemble;

// One master's candidacy, its loop on a thread of its own.
class Candidate {
 public:
  Candidate(const std::string& url, int port) : loop_(clock_) {
    LeaderInfo self;
    self.endpoint = absl::StrCat("tcp://127.0.0.1:", port);
    self.http = absl::StrCat("http://127.0.0.1:", port + 1);
    self.hostname = "candidate";
    MasterElection::Callbacks callbacks;
    callbacks.on_elected = [this] { elected_ = true; };
    callbacks.on_deposed = [this](const std::string& why) {
      deposed_ = true;
      std::lock_guard<std::mutex> lock(mu_);
      why_ = why;
    };
    election_ = std::make_unique<MasterElection>(loop_, *ParseZkUrl(url), absl::Seconds(2), self, callbacks);
    thread_ = std::thread([this] {
      EXPECT_TRUE(election_->Start().ok());
      loop_.Run();
    });
  }
  ~Candidate() {
    OnLoop([this] { election_.reset(); });  // closes its session: its node goes
    loop_.Post([this] { loop_.Stop(); });
    thread_.join();
  }
  // Runs `fn` on the candidate's loop and returns what it returns.
  template <typename F>
  std::invoke_result_t<F> OnLoop(F fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    loop_.Post([&task] { task(); });
    return result.get();
  }
  std::string node() {
    return OnLoop([this] { return election_ == nullptr ? std::string() : election_->node_path(); });
  }
  clientid_t client_id() {
    return OnLoop([this] { return *zoo_client_id(election_->session().handle()); });
  }
  bool elected() const { return elected_; }
  bool deposed() const { return deposed_; }
  std::string why() {
    std::lock_guard<std::mutex> lock(mu_);
    return why_;
  }

 private:
  SystemClock clock_;
  EventLoop loop_;
  std::unique_ptr<MasterElection> election_;
  std::thread thread_;
  std::atomic<bool> elected_ = false, deposed_ = false;
  std::mutex mu_;
  std::string why_;
};

class MasterElectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    ensemble_ = new ZkEnsemble(1);
    ASSERT_TRUE(ensemble_->WaitServing());
  }
  static void TearDownTestSuite() { delete ensemble_; }
  void SetUp() override {
    const std::string url = ensemble_->url("");
    zh_ = zookeeper_init(url.substr(5).c_str(), nullptr, 10000, nullptr, nullptr, 0);
    ASSERT_NE(zh_, nullptr);
    ASSERT_TRUE(WaitFor([&] { return zoo_state(zh_) == ZOO_CONNECTED_STATE; }, absl::Seconds(20)));
  }
  void TearDown() override { zookeeper_close(zh_); }

  std::string Url() const {
    return ensemble_->url(absl::StrCat("/", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
  }
  bool Exists(const std::string& path) { return zoo_exists(zh_, path.c_str(), 0, nullptr) == ZOK; }
  // Ends the session `id` as the ensemble would on expiry: another handle
  // takes it over and closes it.
  void Expire(const clientid_t& id) {
    const std::string url = ensemble_->url("");
    zhandle_t* other = zookeeper_init(url.substr(5).c_str(), nullptr, 10000, &id, nullptr, 0);
    ASSERT_NE(other, nullptr);
    ASSERT_TRUE(WaitFor([&] { return zoo_state(other) == ZOO_CONNECTED_STATE; }, absl::Seconds(20)));
    zookeeper_close(other);
  }

  static ZkEnsemble* ensemble_;
  zhandle_t* zh_ = nullptr;
};
ZkEnsemble* MasterElectionTest::ensemble_ = nullptr;

TEST_F(MasterElectionTest, AStandbyWhoseNodeIsDeletedContendsAgain) {
  Candidate leader(Url(), 7001);
  ASSERT_TRUE(WaitFor([&] { return leader.elected(); }, absl::Seconds(20)));
  Candidate standby(Url(), 7003);
  ASSERT_TRUE(WaitFor([&] { return !standby.node().empty(); }, absl::Seconds(20)));
  const std::string first = standby.node();

  ASSERT_EQ(zoo_delete(zh_, first.c_str(), -1), ZOK);
  std::string second;
  ASSERT_TRUE(WaitFor([&] {
    second = standby.node();
    return !second.empty() && second != first && Exists(second);
  }, absl::Seconds(20))) << second;
  EXPECT_FALSE(standby.elected());
  EXPECT_FALSE(leader.deposed());
}

TEST_F(MasterElectionTest, AStandbyWhoseSessionExpiredContendsWithANewOneAndLeadsOnceTheLeaderIsGone) {
  auto leader = std::make_unique<Candidate>(Url(), 7001);
  ASSERT_TRUE(WaitFor([&] { return leader->elected(); }, absl::Seconds(20)));
  Candidate standby(Url(), 7003);
  ASSERT_TRUE(WaitFor([&] { return !standby.node().empty(); }, absl::Seconds(20)));
  const std::string first = standby.node();
  const clientid_t session = standby.client_id();

  Expire(session);
  std::string second;
  ASSERT_TRUE(WaitFor([&] {
    second = standby.node();
    return !second.empty() && second != first && Exists(second);
  }, absl::Seconds(20))) << second;
  EXPECT_NE(standby.client_id().client_id, session.client_id);
  EXPECT_FALSE(standby.elected());
  EXPECT_FALSE(leader->deposed());

  leader.reset();  // its session closes
  EXPECT_TRUE(WaitFor([&] { return standby.elected(); }, absl::Seconds(20)));
}

TEST_F(MasterElectionTest, ALeaderWhoseSessionExpiredIsDeposedAndTheStandbyLeads) {
  Candidate leader(Url(), 7001);
  ASSERT_TRUE(WaitFor([&] { return leader.elected(); }, absl::Seconds(20)));
  Candidate standby(Url(), 7003);
  ASSERT_TRUE(WaitFor([&] { return !standby.node().empty(); }, absl::Seconds(20)));

  Expire(leader.client_id());
  ASSERT_TRUE(WaitFor([&] { return leader.deposed(); }, absl::Seconds(20)));
  EXPECT_TRUE(WaitFor([&] { return standby.elected(); }, absl::Seconds(20)));
  // The standby may hear first that its node is lowest; the old leader hears
  // of its expiry or of the new leader: either deposes it.
  EXPECT_FALSE(leader.why().empty());
}

}  // namespace
}  // namespace agora::master
