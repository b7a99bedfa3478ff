#include "common/zookeeper.h"

#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"

namespace agora {

bool IsZkUrl(absl::string_view address) { return absl::StartsWith(address, "zk://"); }

absl::StatusOr<ZkUrl> ParseZkUrl(absl::string_view address) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad ZooKeeper address '", address, "': ", why,
        " (expected zk://HOST:PORT[,HOST:PORT...]/PATH, e.g. zk://zk1:2181,zk2:2181,zk3:2181/agora)"));
  };
  if (!IsZkUrl(address)) return bad("it does not begin with zk://");
  absl::string_view rest = address.substr(5);
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return bad("no path after the servers");
  ZkUrl url{std::string(rest.substr(0, slash)), std::string(rest.substr(slash))};
  if (url.servers.empty()) return bad("no servers");
  for (absl::string_view server : absl::StrSplit(url.servers, ',')) {
    const size_t colon = server.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(server.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return bad(absl::StrCat("'", server, "' is not HOST:PORT"));
    }
  }
  if (url.root.size() < 2 || absl::EndsWith(url.root, "/")) {
    return bad("the path must name a node, like /agora");
  }
  for (absl::string_view part : absl::StrSplit(absl::string_view(url.root).substr(1), '/')) {
    if (part.empty() || part == "." || part == ".." || part == "zookeeper") {
      return bad(absl::StrCat("the path component '", part, "' is not allowed"));
    }
  }
  return url;
}

namespace {

// The client's own warnings and errors, at most one per 10s: while servers
// are down it retries (and says so) every few milliseconds.
void LogFromClient(const char* message) {
  static std::mutex mu;
  static absl::Time last = absl::InfinitePast();
  static int suppressed = 0;
  std::lock_guard<std::mutex> lock(mu);
  const absl::Time now = absl::Now();
  if (now - last < absl::Seconds(10)) {
    ++suppressed;
    return;
  }
  last = now;
  AGORA_LOG(WARNING, "zookeeper") << message
                                  << (suppressed > 0 ? absl::StrCat(" (and ", suppressed, " more since)") : "");
  suppressed = 0;
}

}  // namespace

ZkSession::ZkSession(EventLoop& loop, ZkUrl url, absl::Duration session_timeout, Watcher watcher)
    : loop_(loop), url_(std::move(url)), session_timeout_(session_timeout), watcher_(std::move(watcher)) {}

ZkSession::~ZkSession() {
  // Closed first: its threads (which copy alive_) are joined before alive_
  // goes; what they posted meanwhile finds it gone when the loop runs it.
  if (zh_ != nullptr) zookeeper_close(zh_);
  alive_.reset();
}

absl::Status ZkSession::Open() {
  zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  // The previous handle (if any) is closed: nothing refers to its context.
  watch_context_ = std::make_unique<WatchContext>(WatchContext{this, ++generation_});
  zh_ = zookeeper_init2(url_.servers.c_str(), &ZkSession::OnWatch,
                        static_cast<int>(absl::ToInt64Milliseconds(session_timeout_)), nullptr,
                        watch_context_.get(), 0, &LogFromClient);
  if (zh_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot start a ZooKeeper session with ", url_.servers, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status ZkSession::Reopen() {
  if (zh_ != nullptr) zookeeper_close(zh_);
  zh_ = nullptr;
  connected_ = false;
  absl::Status status = Open();
  if (!status.ok()) {
    // No server name resolves at this moment, say: try again, for ever.
    AGORA_LOG(WARNING, "zookeeper") << status.message() << "; trying again in 1s";
    loop_.After(absl::Seconds(1), [this, alive = std::weak_ptr<char>(alive_)] {
      if (!alive.expired() && zh_ == nullptr) Reopen().IgnoreError();
    });
  }
  return status;
}

bool ZkSession::connected_now() const { return zh_ != nullptr && zoo_state(zh_) == ZOO_CONNECTED_STATE; }

int64_t ZkSession::session_id() const {
  const clientid_t* id = zh_ != nullptr ? zoo_client_id(zh_) : nullptr;
  return id != nullptr ? id->client_id : 0;
}

absl::Duration ZkSession::negotiated_timeout() const {
  return zh_ != nullptr ? absl::Milliseconds(zoo_recv_timeout(zh_)) : session_timeout_;
}

// The client's thread: hand the event to the loop.
void ZkSession::OnWatch(zhandle_t* zh, int type, int state, const char* path, void* context) {
  const auto* watched = static_cast<const WatchContext*>(context);
  ZkSession* self = watched->session;
  ZkEvent event;
  if (type == ZOO_SESSION_EVENT) {
    if (state == ZOO_CONNECTED_STATE) {
      event = ZkEvent::kConnected;
    } else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
      event = ZkEvent::kExpired;
    } else {
      event = ZkEvent::kDisconnected;
    }
  } else if (type == ZOO_CHILD_EVENT) {
    event = ZkEvent::kChildrenChanged;
  } else if (type == ZOO_CREATED_EVENT || type == ZOO_CHANGED_EVENT || type == ZOO_DELETED_EVENT) {
    event = ZkEvent::kNodeChanged;
  } else {
    return;
  }
  self->loop_.Post([self, zh, event, generation = watched->generation,
                    path = std::string(path != nullptr ? path : ""), alive = std::weak_ptr<char>(self->alive_)] {
    // An event of a handle since replaced by Reopen() is old news.
    if (alive.expired() || generation != self->generation_) return;
    if (event == ZkEvent::kConnected) {
      const char* server = zoo_get_current_server(zh);
      AGORA_LOG(INFO, "zookeeper") << "connected to " << (server != nullptr ? server : "?") << ", session "
                                   << absl::StrCat("0x", absl::Hex(self->session_id())) << " (timeout "
                                   << absl::FormatDuration(self->negotiated_timeout()) << ")";
    } else if (event == ZkEvent::kDisconnected && self->connected_) {
      AGORA_LOG(WARNING, "zookeeper") << "lost the connection to ZooKeeper; trying its other servers";
    } else if (event == ZkEvent::kExpired) {
      AGORA_LOG(WARNING, "zookeeper") << "the ZooKeeper session expired";
    }
    if (event == ZkEvent::kConnected || event == ZkEvent::kDisconnected || event == ZkEvent::kExpired) {
      self->connected_ = event == ZkEvent::kConnected;
    }
    self->watcher_(event, path);
  });
}

template <typename... Args>
std::function<void(Args...)> ZkSession::OnLoop(std::function<void(Args...)> done) {
  return [this, done = std::move(done), alive = std::weak_ptr<char>(alive_)](Args... args) {
    loop_.Post([done, alive, args...] {
      if (!alive.expired()) done(args...);
    });
  };
}

namespace {

// Completion trampolines: `data` is a heap std::function, called once and freed.
// The C client calls every completion exactly once (ZCLOSING at close).
void OnStringDone(int rc, const char* value, const void* data) {
  auto* done = static_cast<const std::function<void(int, std::string)>*>(data);
  (*done)(rc, value != nullptr ? value : "");
  delete done;
}
void OnDataDone(int rc, const char* value, int length, const struct Stat*, const void* data) {
  auto* done = static_cast<const std::function<void(int, std::string)>*>(data);
  (*done)(rc, value != nullptr && length > 0 ? std::string(value, length) : "");
  delete done;
}
void OnChildrenDone(int rc, const struct String_vector* names, const void* data) {
  auto* done = static_cast<const std::function<void(int, std::vector<std::string>)>*>(data);
  std::vector<std::string> out;
  if (rc == ZOK && names != nullptr) {
    for (int i = 0; i < names->count; ++i) out.emplace_back(names->data[i]);
  }
  (*done)(rc, std::move(out));
  delete done;
}

// Calls `start` with a heap copy of `done`; if the client refused the call
// at once, `done` never runs from it, so it runs here with that code.
template <typename Fn, typename Start>
void Issue(Fn done, Start start) {
  auto* heap = new Fn(done);
  const int rc = start(static_cast<const void*>(heap));
  if (rc != ZOK) {
    delete heap;
    if constexpr (std::is_invocable_v<Fn, int, std::string>) {
      done(rc, std::string());
    } else {
      done(rc, std::vector<std::string>());
    }
  }
}

}  // namespace

void ZkSession::Create(const std::string& path, const std::string& data, int flags,
                       std::function<void(int, std::string)> done) {
  Issue(OnLoop(std::move(done)), [&](const void* ctx) {
    return zoo_acreate(zh_, path.c_str(), data.data(), static_cast<int>(data.size()),
                       &ZOO_OPEN_ACL_UNSAFE, flags, &OnStringDone, ctx);
  });
}

void ZkSession::Get(const std::string& path, bool watch, std::function<void(int, std::string)> done) {
  Issue(OnLoop(std::move(done)), [&](const void* ctx) {
    return zoo_aget(zh_, path.c_str(), watch ? 1 : 0, &OnDataDone, ctx);
  });
}

void ZkSession::Sync(const std::string& path, std::function<void(int)> done) {
  std::function<void(int, std::string)> wrapped = [done = std::move(done)](int rc, std::string) { done(rc); };
  Issue(OnLoop(std::move(wrapped)), [&](const void* ctx) {
    return zoo_async(zh_, path.c_str(), &OnStringDone, ctx);
  });
}

void ZkSession::Children(const std::string& path, bool watch,
                         std::function<void(int, std::vector<std::string>)> done) {
  Issue(OnLoop(std::move(done)), [&](const void* ctx) {
    return zoo_aget_children(zh_, path.c_str(), watch ? 1 : 0, &OnChildrenDone, ctx);
  });
}

void ZkSession::CreatePath(const std::string& path, std::function<void(int rc)> done) {
  std::vector<std::string> prefixes;
  for (size_t slash = path.find('/', 1); ; slash = path.find('/', slash + 1)) {
    prefixes.push_back(path.substr(0, slash));
    if (slash == std::string::npos) break;
  }
  CreateFrom(std::move(prefixes), 0, std::move(done));
}

void ZkSession::CreateFrom(std::vector<std::string> prefixes, size_t next,
                           std::function<void(int rc)> done) {
  if (next == prefixes.size()) return done(ZOK);
  const std::string path = prefixes[next];
  Create(path, "", 0, [this, prefixes = std::move(prefixes), next, done = std::move(done)](
                          int rc, std::string) mutable {
    if (rc != ZOK && rc != ZNODEEXISTS) return done(rc);
    CreateFrom(std::move(prefixes), next + 1, std::move(done));
  });
}

}  // namespace agora
