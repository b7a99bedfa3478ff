#include "tests/fuzz/harness.h"

#include <unistd.h>

#include <filesystem>

#include <capnp/serialize.h>

#include "absl/strings/str_cat.h"
#include "agent/process_launcher.h"
#include "common/ids.h"
#include "common/log.h"

namespace agora::fuzz {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kIdSeed = 1;
// One endpoint per harness: a closed socket's inproc name is freed later, by
// ZeroMQ's reaper thread.
std::string NextMasterEndpoint() {
  static uint64_t next = 0;
  return absl::StrCat("inproc://agora-fuzz-master-", next++);
}

// Starts nothing: executors exist only as ids. The pids are above Linux's
// PID_MAX_LIMIT, so no signal the agent sends can reach a real process.
class NoLauncher final : public agent::ProcessLauncher {
 public:
  explicit NoLauncher(std::shared_ptr<std::vector<std::string>> ids) : ids_(std::move(ids)) {}
  absl::StatusOr<pid_t> Launch(const std::vector<std::string>& argv, const std::string&) override {
    for (size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] == "--executor_id") ids_->push_back(argv[i + 1]);
    }
    return static_cast<pid_t>(4194304 + 1000 + ids_->size());
  }

 private:
  std::shared_ptr<std::vector<std::string>> ids_;
};

zmq::message_t ToFrame(const std::string& bytes) { return zmq::message_t(bytes.data(), bytes.size()); }

// A clock step: moves the fake clock and runs what became due.
bool AdvanceClock(const Step& step, FakeClock& clock, EventLoop& loop) {
  if (!step.is_advance()) return false;
  clock.Advance(step.advance);
  loop.RunDueTimers();
  return true;
}

}  // namespace

zmq::context_t& FuzzContext() {
  static zmq::context_t context;
  return context;
}

std::string Serialize(capnp::MessageBuilder& msg) {
  zmq::message_t frame = Encode(msg);
  return frame.to_string();
}

bool SentMessages::Send(const PeerId& peer, capnp::MessageBuilder& message) {
  if (keep) sent_.emplace_back(peer, Serialize(message));
  return true;
}

std::vector<std::pair<PeerId, std::string>> SentMessages::Take() { return std::exchange(sent_, {}); }

MasterHarness::MasterHarness() {
  SetLogLevel(LogLevel::kError);
  SeedIdsForTesting(kIdSeed);
  loop_ = std::make_unique<EventLoop>(clock_);
  master::MasterOptions options;
  options.agent_reregister_timeout = absl::Seconds(1);
  master_ = std::make_unique<master::Master>(options, *loop_, sent_, master::NewDrfAllocator(1));
  (void)master_->Start();
}

MasterHarness::~MasterHarness() {
  master_.reset();
  loop_.reset();
}

const char* MasterHarness::PeerName(int peer) {
  static const char* kNames[] = {"peer-0", "peer-1", "peer-2", "peer-3"};
  return kNames[peer & 3];
}

void MasterHarness::Apply(const Step& step) {
  if (AdvanceClock(step, clock_, *loop_)) return;
  zmq::message_t frame = ToFrame(step.frame);
  (void)Decode(frame, stats_, [&](wire::Envelope::Reader env) {
    master_->Handle(PeerName(step.peer), env);
  });
  master_->EndTurn();
}

AgentHarness::AgentHarness(bool capture) : executors_(std::make_shared<std::vector<std::string>>()) {
  SetLogLevel(LogLevel::kError);
  SeedIdsForTesting(kIdSeed);
  static const std::string base = [] {
    std::string tmpl = (fs::temp_directory_path() / "agora-fuzz-agent-XXXXXX").string();
    return std::string(::mkdtemp(tmpl.data()));
  }();
  work_dir_ = base + "/work";
  std::error_code ec;
  fs::remove_all(work_dir_, ec);  // every input starts from a fresh agent
  loop_ = std::make_unique<EventLoop>(clock_);
  // Always bound: a DEALER connected to an unbound inproc endpoint stays
  // pending in the context, and the context runs out of sockets.
  master_side_ = std::make_unique<zmq::socket_t>(FuzzContext(), zmq::socket_type::router);
  master_side_->set(zmq::sockopt::linger, 0);
  const std::string master_endpoint = NextMasterEndpoint();
  master_side_->bind(master_endpoint);
  capture_ = capture;
  agent::AgentOptions options;
  options.master = master_endpoint;
  options.work_dir = work_dir_;
  options.hostname = "fuzz-host";
  options.resources = Resources::Scalars(4, 4096, 1000);
  options.executor_path = "/nonexistent/agora-executor";
  options.task_users = *agent::MakeTaskUserPolicy("", /*allow_root=*/false);
  agent_ = std::make_unique<agent::Agent>(options, *loop_, FuzzContext(),
                                          std::make_unique<NoLauncher>(executors_));
  (void)agent_->Start();
}

AgentHarness::~AgentHarness() {
  agent_.reset();
  master_side_.reset();
  loop_.reset();
}

void AgentHarness::Apply(const Step& step) {
  if (AdvanceClock(step, clock_, *loop_)) return;
  zmq::message_t frame = ToFrame(step.frame);
  (void)Decode(frame, stats_, [&](wire::Envelope::Reader env) {
    if (step.peer == 0) return agent_->HandleMaster(env);
    const size_t k = static_cast<size_t>(step.peer - 1);
    agent_->HandleExecutor(k < executors_->size() ? (*executors_)[k] : "e-unknown", env);
  });
  loop_->RunDueTimers();
}

std::vector<std::string> AgentHarness::TakeSent() {
  std::vector<std::string> frames;
  if (!capture_) return frames;
  while (true) {
    zmq::message_t id, frame;
    if (!master_side_->recv(id, zmq::recv_flags::dontwait)) break;
    (void)master_side_->recv(frame, zmq::recv_flags::none);
    frames.push_back(frame.to_string());
  }
  return frames;
}

}  // namespace agora::fuzz
