// ZooKeeper for Agora's masters and the clients that follow their leader:
// zk:// addresses, and ZkSession, one session with an ensemble through the
// C client (libzookeeper-mt).
//
// The C client runs its own two threads; its watcher and completions run on
// one of them. ZkSession hands every event and every completion of the calls
// below to the owner's EventLoop, so the owner's code runs on its loop only
// and never blocks the client's thread. A completion never runs after its
// session was destroyed.
//
// Sessions: the client reconnects by itself within the session timeout (to
// any server of the ensemble) and keeps its watches; once the ensemble has
// expired the session (its ephemeral nodes are then gone), the handle is dead
// and the owner decides: Reopen() starts a new session, or a leader stops.
//
// Example:
//   ZkSession zk(loop, *ParseZkUrl("zk://h1:2181,h2:2181/agora"), absl::Seconds(10),
//                [&](ZkEvent e, const std::string& path) { ... });
//   zk.Open();
//   zk.Children("/agora/masters", /*watch=*/true, [](int rc, std::vector<std::string> names) {});
#pragma once

#include <zookeeper/zookeeper.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/event_loop.h"

namespace agora {

// zk://HOST:PORT[,HOST:PORT...]/PATH: the ensemble and the cluster's root node.
struct ZkUrl {
  std::string servers;  // "h1:2181,h2:2181", as the C client takes them
  std::string root;     // "/agora": absolute, no trailing slash
};
bool IsZkUrl(absl::string_view address);
// A precise error for anything else (no servers, a port that is not one, a
// path that is not absolute or has empty, "." or ".." components).
absl::StatusOr<ZkUrl> ParseZkUrl(absl::string_view address);

enum class ZkEvent {
  kConnected,        // (again) connected; the same session unless kExpired came first
  kDisconnected,     // the client is looking for a server; the session may live on
  kExpired,          // the session is over: its ephemeral nodes are gone; Reopen() or stop
  kChildrenChanged,  // a watched node's children changed (`path`)
  kNodeChanged,      // a watched node was created, changed or deleted (`path`)
};

class ZkSession {
 public:
  // Runs on the loop thread.
  using Watcher = std::function<void(ZkEvent event, const std::string& path)>;

  ZkSession(EventLoop& loop, ZkUrl url, absl::Duration session_timeout, Watcher watcher);
  // Closes the session: its ephemeral nodes go at once.
  ~ZkSession();
  ZkSession(const ZkSession&) = delete;
  ZkSession& operator=(const ZkSession&) = delete;

  // Starts connecting; events follow. An error only for a server list the
  // client refuses (none resolves). Reopen() replaces an expired (or any)
  // session by a new one; when it cannot, it tries again every second.
  absl::Status Open();
  absl::Status Reopen();

  const ZkUrl& url() const { return url_; }
  bool connected() const { return connected_; }  // as of the last event handled
  bool connected_now() const;                     // as the client knows it this moment
  // The current session's id (0 before it connected), and the timeout the
  // ensemble granted (it bounds what was asked by its tick time).
  int64_t session_id() const;
  absl::Duration negotiated_timeout() const;
  // For calls made on other threads (a registry's writer): valid until
  // Reopen() or destruction, both on the loop thread.
  zhandle_t* handle() const { return zh_; }

  // Each `done` runs on the loop with the C client's return code (ZOK, ZNONODE,
  // ZNODEEXISTS, ZCONNECTIONLOSS, ...; see zerror()).
  // `flags`: ZOO_EPHEMERAL, ZOO_SEQUENCE, ... `done` gets the path created.
  void Create(const std::string& path, const std::string& data, int flags,
              std::function<void(int rc, std::string created)> done);
  // Creates `path` and its missing ancestors, as persistent nodes; an
  // existing node is fine.
  void CreatePath(const std::string& path, std::function<void(int rc)> done);
  void Get(const std::string& path, bool watch, std::function<void(int rc, std::string data)> done);
  // Brings the server this session talks to up to date with the leader
  // of the ensemble for `path` (what a read after it must see).
  void Sync(const std::string& path, std::function<void(int rc)> done);
  void Children(const std::string& path, bool watch,
                std::function<void(int rc, std::vector<std::string> names)> done);

 private:
  static void OnWatch(zhandle_t* zh, int type, int state, const char* path, void* context);
  // Wraps `done` so that it runs on the loop, and only while this session lives.
  template <typename... Args>
  std::function<void(Args...)> OnLoop(std::function<void(Args...)> done);
  void CreateFrom(std::vector<std::string> prefixes, size_t next, std::function<void(int rc)> done);

  EventLoop& loop_;
  const ZkUrl url_;
  const absl::Duration session_timeout_;
  Watcher watcher_;
  zhandle_t* zh_ = nullptr;
  // The watcher's context: which session, and which of its handles (events
  // of a handle since replaced are dropped; a new handle may reuse the old
  // one's address, its generation is new).
  struct WatchContext {
    ZkSession* session;
    uint64_t generation;
  };
  std::unique_ptr<WatchContext> watch_context_;
  uint64_t generation_ = 0;
  bool connected_ = false;
  // Closures posted to the loop hold a weak reference: they do nothing once
  // the session is destroyed (both happen on the loop thread).
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace agora
