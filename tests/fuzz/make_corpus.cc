// Writes the fuzzers' seed corpus (tests/fuzz/corpus/{decode,master,agent}):
// conversations that reach deep into the master's and the agent's handlers,
// built by running them through the same harnesses the fuzzers use, so that
// every id a later frame names is one an earlier frame created.
//
//   build/tests/fuzz/make_fuzz_corpus tests/fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>

#include <capnp/serialize.h>

#include "absl/strings/str_cat.h"
#include "common/wire_convert.h"
#include "tests/fuzz/harness.h"

namespace agora::fuzz {
namespace {
namespace fs = std::filesystem;

// Reads the first message of `which` among `frames`; calls `fn` with it.
template <typename Fn>
bool Find(const std::vector<std::string>& frames, wire::Envelope::Which which, Fn fn) {
  for (const std::string& f : frames) {
    kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(f.data()),
                                          f.size() / sizeof(capnp::word));
    kj::Array<capnp::word> aligned = kj::heapArray<capnp::word>(words);
    capnp::FlatArrayMessageReader reader(aligned.asPtr());
    auto env = reader.getRoot<wire::Envelope>();
    if (env.which() == which) {
      fn(env);
      return true;
    }
  }
  return false;
}

TaskSpec Task(const std::string& id, bool rich) {
  TaskSpec t;
  t.task_id = id;
  t.name = id;
  t.command = "sleep 100";
  t.resources = Resources::Scalars(1, 128, 10);
  if (rich) {
    t.resources.set_ports(PortSet({{31000, 31001}}));
    t.port_names = {"http"};
    t.env = {{"GREETING", "hello"}};
    t.files = {{"conf/app.json", "{\"a\": 1}"}};
    t.health_check.kind = HealthCheck::Kind::kHttp;
    t.health_check.port = 31000;
    t.health_check.path = "/";
    t.health_check.interval = absl::Seconds(1);
    t.health_check.timeout = absl::Seconds(1);
    t.health_check.max_failures = 2;
  }
  return t;
}

// Records the steps of one conversation and what each step made the
// harness send.
template <typename Harness>
class Conversation {
 public:
  explicit Conversation(Harness& h) : h_(h) {}
  Harness& harness() { return h_; }
  void Send(int peer, capnp::MessageBuilder& msg) {
    steps_.push_back(FrameStep(peer, Serialize(msg)));
    frames_.push_back(steps_.back().frame);
    h_.Apply(steps_.back());
  }
  void Advance(absl::Duration d) {
    steps_.push_back(AdvanceStep(d));
    h_.Apply(steps_.back());
  }
  const std::vector<Step>& steps() const { return steps_; }
  const std::vector<std::string>& frames() const { return frames_; }

 private:
  Harness& h_;
  std::vector<Step> steps_;
  std::vector<std::string> frames_;
};

std::vector<std::string> MasterReplies(MasterHarness& h) {
  std::vector<std::string> out;
  for (auto& [peer, frame] : h.sent().Take()) out.push_back(std::move(frame));
  return out;
}

// An agent, a framework that launches, updates and their acks, kills,
// reconciliation, declines, operator commands, a drain, a teardown, an
// agent that goes silent and comes back.
std::vector<Step> MasterConversation(std::vector<std::string>* decode_seeds) {
  MasterHarness h;
  h.sent().keep = true;
  Conversation<MasterHarness> c(h);
  std::string agent_id, framework_id, offer_id;
  {
    WireMessage m;
    auto r = NewEnvelope(m, 1).initRegisterAgent();
    r.setHostname("host-0");
    Resources res = Resources::Scalars(4, 4096, 1000);
    res.set_ports(PortSet({{31000, 31010}}));
    ToWire(res, r.initResources());
    ToWire(Env{{"zone", "a"}}, r.initAttributes(1));
    r.setAddress("127.0.0.1");
    c.Send(0, m);
    Find(MasterReplies(h), wire::Envelope::AGENT_REGISTERED,
         [&](auto env) { agent_id = env.getAgentRegistered().getAgentId(); });
  }
  {
    WireMessage m;
    auto s = NewEnvelope(m, 2).initSubscribe();
    s.setName("fuzz-framework");
    s.setRole("*");
    s.setFailoverTimeoutMs(60000);
    c.Send(1, m);
    Find(MasterReplies(h), wire::Envelope::SUBSCRIBED,
         [&](auto env) { framework_id = env.getSubscribed().getFrameworkId(); });
  }
  c.Advance(absl::Milliseconds(150));
  auto offers = MasterReplies(h);
  decode_seeds->insert(decode_seeds->end(), offers.begin(), offers.end());
  Find(offers, wire::Envelope::OFFERS,
       [&](auto env) { offer_id = env.getOffers().getOffers()[0].getOfferId(); });
  {
    WireMessage m;
    auto a = NewEnvelope(m, 3).initAccept();
    a.setFrameworkId(framework_id);
    a.initOfferIds(1).set(0, offer_id);
    auto tasks = a.initTasks(2);
    ToWire(Task("t1", true), tasks[0]);
    ToWire(Task("t2", false), tasks[1]);
    a.setRefuseSeconds(1);
    c.Send(1, m);
    decode_seeds->push_back(c.frames().back());
    for (const std::string& f : MasterReplies(h)) decode_seeds->push_back(f);  // RunTask
  }
  auto update = [&](const std::string& task, wire::TaskState state, const std::string& uuid) {
    WireMessage m;
    auto s = NewEnvelope(m).initStatusUpdate().initStatus();
    s.setTaskId(task);
    s.setFrameworkId(framework_id);
    s.setAgentId(agent_id);
    s.setState(state);
    s.setUuid(uuid);
    s.setMessage("started as pid 1");
    s.setHasHealth(true);
    s.setHealthy(true);
    c.Send(0, m);
    WireMessage ack;
    auto k = NewEnvelope(ack, 4).initAcknowledge();
    k.setFrameworkId(framework_id);
    k.setAgentId(agent_id);
    k.setTaskId(task);
    k.setUuid(uuid);
    c.Send(1, ack);
  };
  update("t1", wire::TaskState::RUNNING, "u-1");
  update("t2", wire::TaskState::RUNNING, "u-2");
  {
    WireMessage hb, fhb, usage;
    NewEnvelope(hb).initAgentHeartbeat().setAgentId(agent_id);
    c.Send(0, hb);
    NewEnvelope(fhb, 5).initFrameworkHeartbeat().setFrameworkId(framework_id);
    c.Send(1, fhb);
    auto u = NewEnvelope(usage).initUsageReport();
    u.setAgentId(agent_id);
    auto list = u.initUsages(1);
    list[0].setFrameworkId(framework_id);
    list[0].setTaskId("t1");
    list[0].setCpusUsed(0.5);
    list[0].setMemBytes(1 << 20);
    c.Send(0, usage);
  }
  for (bool explicit_ids : {false, true}) {
    WireMessage m;
    auto r = NewEnvelope(m, 6).initReconcile();
    r.setFrameworkId(framework_id);
    if (explicit_ids) {
      auto ids = r.initTaskIds(2);
      ids.set(0, "t1");
      ids.set(1, "no-such-task");
    }
    c.Send(1, m);
  }
  {
    WireMessage kill;
    auto k = NewEnvelope(kill, 7).initKillTask();
    k.setFrameworkId(framework_id);
    k.setTaskId("t2");
    c.Send(1, kill);
    update("t2", wire::TaskState::KILLED, "u-3");
  }
  c.Advance(absl::Milliseconds(150));
  Find(MasterReplies(h), wire::Envelope::OFFERS, [&](auto env) {
    WireMessage m;
    auto d = NewEnvelope(m, 8).initDecline();
    d.setFrameworkId(framework_id);
    d.initOfferIds(1).set(0, env.getOffers().getOffers()[0].getOfferId());
    d.setRefuseSeconds(10);
    c.Send(1, m);
  });
  {
    WireMessage suppress, revive;
    NewEnvelope(suppress, 9).initSuppress().setFrameworkId(framework_id);
    c.Send(1, suppress);
    NewEnvelope(revive, 10).initRevive().setFrameworkId(framework_id);
    c.Send(1, revive);
  }
  for (const char* q : {"agents", "frameworks", "tasks", "offers", "stats", "security", "bogus"}) {
    WireMessage m;
    NewEnvelope(m, 11).initOperatorQuery().setQuery(q);
    c.Send(2, m);
  }
  {
    WireMessage kill, drain, undrain;
    NewEnvelope(kill, 12).initOperatorKill().setTaskId("t1");
    c.Send(2, kill);
    auto d = NewEnvelope(drain, 13).initOperatorAgent();
    d.setAgent(agent_id);
    d.setAction(wire::OperatorAgent::Action::DRAIN);
    d.setDeadlineMs(1000);
    c.Send(2, drain);
    c.Advance(absl::Seconds(2));
    auto u = NewEnvelope(undrain, 14).initOperatorAgent();
    u.setAgent("host-0");
    u.setAction(wire::OperatorAgent::Action::UNDRAIN);
    c.Send(2, undrain);
  }
  {
    // The agent falls silent, then comes back with its task.
    c.Advance(absl::Seconds(6));
    WireMessage hb, reg, err;
    NewEnvelope(hb).initAgentHeartbeat().setAgentId(agent_id);
    c.Send(0, hb);
    auto r = NewEnvelope(reg, 15).initRegisterAgent();
    r.setAgentId(agent_id);
    r.setHostname("host-0");
    ToWire(Resources::Scalars(4, 4096, 1000), r.initResources());
    auto tasks = r.initTasks(1);
    tasks[0].setFrameworkId(framework_id);
    ToWire(Task("t1", true), tasks[0].initSpec());
    tasks[0].setState(wire::TaskState::RUNNING);
    c.Send(0, reg);
    auto e = NewEnvelope(err).initError();
    e.setCode(wire::ErrorCode::INVALID_ARGUMENT);
    e.setMessage("an agent complains");
    c.Send(0, err);
  }
  {
    WireMessage teardown, gone;
    NewEnvelope(teardown, 16).initOperatorTeardown().setFrameworkId(framework_id);
    c.Send(2, teardown);
    auto g = NewEnvelope(gone, 17).initOperatorAgent();
    g.setAgent(agent_id);
    g.setAction(wire::OperatorAgent::Action::GONE);
    c.Send(2, gone);
    WireMessage role;
    auto r = NewEnvelope(role, 18).initOperatorRole();
    r.setRole("web");
    r.setWeight(2);
    r.setQuota(wire::OperatorRole::QuotaAction::SET);
    ToWire(Resources::Scalars(2, 1024, Resources::kMaxScalar), r.initLimit());
    c.Send(2, role);
  }
  c.Advance(absl::Seconds(31));
  decode_seeds->insert(decode_seeds->end(), c.frames().begin(), c.frames().end());
  return c.steps();
}

// The master asks the agent to run tasks; the executor registers and
// reports; updates are acknowledged; kills, a refused user, a re-registration
// request, the master declaring the agent gone.
std::vector<Step> AgentConversation(std::vector<std::string>* decode_seeds) {
  AgentHarness h(/*capture=*/true);
  Conversation<AgentHarness> c(h);
  const std::string framework_id = "f-fuzz";
  {
    WireMessage m;
    auto r = NewEnvelope(m).initAgentRegistered();
    r.setAgentId("a-fuzz");
    r.setHeartbeatIntervalMs(1000);
    c.Send(0, m);
  }
  auto run = [&](const std::string& id, bool rich, const std::string& user = "") {
    WireMessage m;
    auto r = NewEnvelope(m).initRunTask();
    r.setFrameworkId(framework_id);
    r.setFrameworkName("fuzz");
    r.setAgentId("a-fuzz");
    TaskSpec t = Task(id, rich);
    t.user = user;
    ToWire(t, r.initTask());
    c.Send(0, m);
  };
  run("t1", true);
  run("t2", false);
  {
    WireMessage m;
    auto r = NewEnvelope(m, 3).initRegisterExecutor();
    r.setFrameworkId(framework_id);
    r.setExecutorId(h.executors().empty() ? "e-none" : h.executors()[0]);
    r.setPid(4194304 + 1);
    c.Send(1, m);
  }
  auto status = [&](const std::string& task, wire::TaskState state) {
    WireMessage m;
    auto s = NewEnvelope(m).initExecutorStatus();
    s.setTaskId(task);
    s.setState(state);
    s.setMessage("started as pid 7");
    s.setExitCode(state == wire::TaskState::FAILED ? 3 : 0);
    c.Send(1, m);
    // Acknowledge what the agent sent on: its uuid is in its update.
    for (const std::string& f : h.TakeSent()) {
      Find({f}, wire::Envelope::STATUS_UPDATE, [&](auto env) {
        auto st = env.getStatusUpdate().getStatus();
        WireMessage ack;
        auto a = NewEnvelope(ack).initAcknowledge();
        a.setFrameworkId(st.getFrameworkId());
        a.setAgentId(st.getAgentId());
        a.setTaskId(st.getTaskId());
        a.setUuid(st.getUuid());
        c.Send(0, ack);
        decode_seeds->push_back(f);
      });
    }
  };
  status("t1", wire::TaskState::RUNNING);
  status("t2", wire::TaskState::RUNNING);
  {
    WireMessage m;
    auto u = NewEnvelope(m).initUsageReport();
    auto list = u.initUsages(1);
    list[0].setTaskId("t1");
    list[0].setCpusUsed(0.25);
    list[0].setMemBytes(1 << 20);
    c.Send(1, m);
  }
  {
    WireMessage m;
    auto k = NewEnvelope(m).initKillTask();
    k.setFrameworkId(framework_id);
    k.setTaskId("t1");
    k.setAgentId("a-fuzz");
    c.Send(0, m);
  }
  status("t1", wire::TaskState::KILLED);
  status("t2", wire::TaskState::FAILED);
  run("t3", false, "root");  // refused: this agent does not allow root
  c.Advance(absl::Seconds(2));
  {
    WireMessage again, gone;
    NewEnvelope(again).initReregisterAgent().setAgentId("a-fuzz");
    c.Send(0, again);
    auto e = NewEnvelope(gone).initError();
    e.setCode(wire::ErrorCode::AGENT_GONE);
    e.setMessage("declared gone");
    c.Send(0, gone);
  }
  c.Advance(absl::Seconds(5));
  decode_seeds->insert(decode_seeds->end(), c.frames().begin(), c.frames().end());
  return c.steps();
}

void Write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

}  // namespace
}  // namespace agora::fuzz

int main(int argc, char** argv) {
  using namespace agora::fuzz;
  if (argc != 2) {
    std::cerr << "usage: make_fuzz_corpus DIR\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::vector<std::string> frames;
  const auto master = MasterConversation(&frames);
  const auto agent = AgentConversation(&frames);
  Write(dir / "master", "conversation", EncodeSteps(master));
  Write(dir / "agent", "conversation", EncodeSteps(agent));
  // Shorter seeds: each frame of the conversations on its own.
  for (size_t i = 0; i < master.size(); ++i) {
    if (!master[i].is_advance()) Write(dir / "master", absl::StrCat("step-", i), EncodeSteps({master[i]}));
  }
  for (size_t i = 0; i < frames.size(); ++i) Write(dir / "decode", absl::StrCat("frame-", i), frames[i]);
  std::cout << "wrote " << master.size() << " master steps, " << agent.size() << " agent steps and "
            << frames.size() << " frames into " << dir << "\n";
  return 0;
}
