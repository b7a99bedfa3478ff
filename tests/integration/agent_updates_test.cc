// The real agent against a scripted master: status updates are resent until
// acknowledged, in order, and stop once acknowledged.
#include <filesystem>

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "common/event_loop.h"
#include "common/framing.h"
#include "common/sockets.h"
#include "common/wire_convert.h"
#include "tests/integration/cluster.h"

namespace agora::testing {
namespace {

class ScriptedMaster {
 public:
  explicit ScriptedMaster(const std::string& endpoint) : loop_(clock_) {
    auto router = RouterSocket::Bind(context_, endpoint, loop_,
                                     [this](const PeerId& peer, wire::Envelope::Reader env) {
                                       OnMessage(peer, env);
                                     });
    EXPECT_TRUE(router.ok()) << router.status();
    router_ = *std::move(router);
  }

  // Runs the loop until `condition` holds or `timeout` passes.
  bool RunUntil(const std::function<bool()>& condition, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!condition()) {
      if (absl::Now() >= deadline) return false;
      loop_.RunOnce(absl::Milliseconds(20));
    }
    return true;
  }

  void Send(capnp::MessageBuilder& msg) { router_->Send(agent_peer_, msg); }

  std::string agent_id = "a-scripted";
  std::vector<TaskStatus> updates;
  bool registered = false;

 private:
  void OnMessage(const PeerId& peer, wire::Envelope::Reader env) {
    if (env.isRegisterAgent()) {
      agent_peer_ = peer;
      registered = true;
      WireMessage reply;
      auto r = NewEnvelope(reply, env.getRequestId()).initAgentRegistered();
      r.setAgentId(agent_id);
      r.setHeartbeatIntervalMs(200);
      router_->Send(peer, reply);
    } else if (env.isStatusUpdate()) {
      updates.push_back(FromWire(env.getStatusUpdate().getStatus()));
    }
  }

  SystemClock clock_;
  EventLoop loop_;
  zmq::context_t context_;
  std::unique_ptr<RouterSocket> router_;
  PeerId agent_peer_;
};

TEST(AgentUpdatesTest, UpdatesAreResentUntilAcknowledgedAndInOrder) {
  const std::string dir = std::filesystem::temp_directory_path() / "agora-agent-updates";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  struct RemoveAtEnd {  // destroyed last: after the agent has stopped
    std::string dir;
    ~RemoveAtEnd() { std::filesystem::remove_all(dir); }
  } remove_at_end{dir};
  const std::string endpoint = "ipc://" + dir + "/master.sock";
  ScriptedMaster master(endpoint);
  Process agent({BinPath("agora-agent"), "--master", endpoint, "--work_dir", dir + "/agent",
                 "--resources", "cpus:1;mem:256", "--cgroups", "none", "--kill_tasks_on_exit",
                 "--http_host", "127.0.0.1", "--http_port", "0"},
                dir + "/agent.log");
  ASSERT_TRUE(master.RunUntil([&] { return master.registered; }, absl::Seconds(10)));

  WireMessage run;
  auto r = NewEnvelope(run).initRunTask();
  r.setFrameworkId("f-test");
  r.setFrameworkName("test");
  r.setAgentId(master.agent_id);
  TaskSpec spec;
  spec.task_id = "t1";
  spec.command = "exit 0";
  spec.resources = Resources::Scalars(0.1, 16, 0);
  ToWire(spec, r.initTask());
  master.Send(run);

  // RUNNING arrives, and without an acknowledgement arrives again (~1s later)
  // with the same uuid; FINISHED waits behind it.
  ASSERT_TRUE(master.RunUntil([&] { return master.updates.size() >= 2; }, absl::Seconds(10)));
  ASSERT_EQ(master.updates[0].state, TaskState::kRunning);
  EXPECT_EQ(master.updates[1].uuid, master.updates[0].uuid);
  EXPECT_EQ(master.updates[1].state, TaskState::kRunning);

  auto ack = [&](const TaskStatus& s) {
    WireMessage msg;
    auto a = NewEnvelope(msg).initAcknowledge();
    a.setFrameworkId("f-test");
    a.setAgentId(master.agent_id);
    a.setTaskId("t1");
    a.setUuid(s.uuid);
    master.Send(msg);
  };
  ack(master.updates[0]);
  ASSERT_TRUE(master.RunUntil(
      [&] { return master.updates.back().state == TaskState::kFinished; }, absl::Seconds(10)));
  const TaskStatus finished = master.updates.back();
  EXPECT_NE(finished.uuid, master.updates[0].uuid);
  ack(finished);
  // Acknowledged: nothing more comes for 2.5s (the first resend would be at 1s).
  const size_t count = master.updates.size();
  master.RunUntil([] { return false; }, absl::Milliseconds(2500));
  EXPECT_EQ(master.updates.size(), count);
}

}  // namespace
}  // namespace agora::testing
