#include <sqlite3.h>

#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/event_loop.h"
#include "common/status.h"
#include "master/buffered_registry.h"

namespace agora::master {
namespace {

// Returns SqlError(rc, what) from the enclosing member function on failure.
#define AGORA_RETURN_IF_ERROR_SQL(expr, what)                    \
  do {                                                           \
    int agora_rc_ = (expr);                                      \
    if (agora_rc_ != SQLITE_OK) return SqlError(agora_rc_, what); \
  } while (0)

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS agents (
  id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  state INTEGER NOT NULL,
  since_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS frameworks (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  failover_timeout_ms INTEGER NOT NULL,
  removed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS roles (
  name TEXT PRIMARY KEY,
  weight REAL NOT NULL,
  capped INTEGER NOT NULL,
  quota_cpus REAL NOT NULL,
  quota_mem REAL NOT NULL,
  quota_disk REAL NOT NULL
);
)sql";

class SqliteRegistry final : public BufferedRegistry {
 public:
  SqliteRegistry(sqlite3* db, EventLoop* loop) : BufferedRegistry(loop), db_(db) {}
  ~SqliteRegistry() override {
    StopWriter();
    sqlite3_close(db_);
  }

  absl::Status Init() {
    for (const char* sql : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;", kSchema}) {
      AGORA_RETURN_IF_ERROR_SQL(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), "init");
    }
    // Registries written before keys existed lack the owners' column.
    for (const char* table : {"agents", "frameworks"}) {
      if (HasColumn(table, "principal")) continue;
      const std::string alter =
          absl::StrCat("ALTER TABLE ", table, " ADD COLUMN principal TEXT NOT NULL DEFAULT ''");
      AGORA_RETURN_IF_ERROR_SQL(sqlite3_exec(db_, alter.c_str(), nullptr, nullptr, nullptr),
                                "add the principal column");
    }
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<RegistryState> Read() override {
    RegistryState state;
    AGORA_RETURN_IF_ERROR(ForEachRow(
        "SELECT id, hostname, state, since_us, principal FROM agents", "read agents",
        [&](sqlite3_stmt* row) {
          RegistryAgent a;
          a.id = Text(row, 0);
          a.hostname = Text(row, 1);
          a.state = static_cast<RegistryAgent::State>(sqlite3_column_int(row, 2));
          a.since = absl::FromUnixMicros(sqlite3_column_int64(row, 3));
          a.principal = Text(row, 4);
          state.agents.push_back(std::move(a));
        }));
    AGORA_RETURN_IF_ERROR(ForEachRow(
        "SELECT id, name, role, failover_timeout_ms, removed, principal FROM frameworks",
        "read frameworks", [&](sqlite3_stmt* row) {
          RegistryFramework f;
          f.id = Text(row, 0);
          f.name = Text(row, 1);
          f.role = Text(row, 2);
          f.failover_timeout = absl::Milliseconds(sqlite3_column_int64(row, 3));
          f.removed = sqlite3_column_int(row, 4) != 0;
          f.principal = Text(row, 5);
          state.frameworks.push_back(std::move(f));
        }));
    AGORA_RETURN_IF_ERROR(ForEachRow(
        "SELECT name, weight, capped, quota_cpus, quota_mem, quota_disk FROM roles", "read roles",
        [&](sqlite3_stmt* row) {
          RegistryRole r;
          r.name = Text(row, 0);
          r.weight = sqlite3_column_double(row, 1);
          if (sqlite3_column_int(row, 2) != 0) {
            r.quota = Resources::Scalars(sqlite3_column_double(row, 3), sqlite3_column_double(row, 4),
                                         sqlite3_column_double(row, 5));
          }
          state.roles.push_back(std::move(r));
        }));
    return state;
  }

  // One transaction, synced before it returns.
  absl::Status Write(const RegistryWrites& writes) override {
    AGORA_RETURN_IF_ERROR_SQL(sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr), "begin");
    absl::Status status = WriteAll(writes);
    const char* end = status.ok() ? "COMMIT" : "ROLLBACK";
    int rc = sqlite3_exec(db_, end, nullptr, nullptr, nullptr);
    if (status.ok() && rc != SQLITE_OK) status = SqlError(rc, "commit");
    return status;
  }

  bool HasColumn(const char* table, const char* column) {
    sqlite3_stmt* stmt = nullptr;
    const std::string sql = absl::StrCat("PRAGMA table_info(", table, ")");
    bool found = false;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) found = found || Text(stmt, 1) == column;
    }
    sqlite3_finalize(stmt);
    return found;
  }
  static std::string Text(sqlite3_stmt* stmt, int col) {
    const unsigned char* t = sqlite3_column_text(stmt, col);
    return t == nullptr ? "" : reinterpret_cast<const char*>(t);
  }
  absl::Status SqlError(int rc, const char* what) const {
    return absl::InternalError(absl::StrCat("registry ", what, ": ", sqlite3_errmsg(db_), " (",
                                            rc, ")"));
  }
  absl::Status WriteAll(const RegistryWrites& writes) {
    AGORA_RETURN_IF_ERROR(WriteEach(
        "INSERT OR REPLACE INTO agents (id, hostname, state, since_us, principal) "
        "VALUES (?, ?, ?, ?, ?)",
        "write agent", writes.agents, [](sqlite3_stmt* stmt, const RegistryAgent& a) {
          sqlite3_bind_text(stmt, 1, a.id.c_str(), -1, SQLITE_TRANSIENT);
          sqlite3_bind_text(stmt, 2, a.hostname.c_str(), -1, SQLITE_TRANSIENT);
          sqlite3_bind_int(stmt, 3, static_cast<int>(a.state));
          sqlite3_bind_int64(stmt, 4, absl::ToUnixMicros(a.since));
          sqlite3_bind_text(stmt, 5, a.principal.c_str(), -1, SQLITE_TRANSIENT);
        }));
    AGORA_RETURN_IF_ERROR(WriteEach(
        "INSERT OR REPLACE INTO frameworks "
        "(id, name, role, failover_timeout_ms, removed, principal) VALUES (?, ?, ?, ?, ?, ?)",
        "write framework", writes.frameworks, [](sqlite3_stmt* stmt, const RegistryFramework& f) {
          sqlite3_bind_text(stmt, 1, f.id.c_str(), -1, SQLITE_TRANSIENT);
          sqlite3_bind_text(stmt, 2, f.name.c_str(), -1, SQLITE_TRANSIENT);
          sqlite3_bind_text(stmt, 3, f.role.c_str(), -1, SQLITE_TRANSIENT);
          sqlite3_bind_int64(stmt, 4, absl::ToInt64Milliseconds(f.failover_timeout));
          sqlite3_bind_int(stmt, 5, f.removed ? 1 : 0);
          sqlite3_bind_text(stmt, 6, f.principal.c_str(), -1, SQLITE_TRANSIENT);
        }));
    return WriteEach(
        "INSERT OR REPLACE INTO roles "
        "(name, weight, capped, quota_cpus, quota_mem, quota_disk) VALUES (?, ?, ?, ?, ?, ?)",
        "write role", writes.roles, [](sqlite3_stmt* stmt, const RegistryRole& r) {
          const Resources quota = r.quota.value_or(Resources());
          sqlite3_bind_text(stmt, 1, r.name.c_str(), -1, SQLITE_TRANSIENT);
          sqlite3_bind_double(stmt, 2, r.weight);
          sqlite3_bind_int(stmt, 3, r.quota.has_value() ? 1 : 0);
          sqlite3_bind_double(stmt, 4, quota.cpus());
          sqlite3_bind_double(stmt, 5, quota.mem());
          sqlite3_bind_double(stmt, 6, quota.disk());
        });
  }

  // Runs `sql` and hands each result row to `row`; a failed step is an
  // error, never a shorter result.
  absl::Status ForEachRow(const char* sql, const char* what,
                          const std::function<void(sqlite3_stmt*)>& row) {
    sqlite3_stmt* stmt = nullptr;
    AGORA_RETURN_IF_ERROR_SQL(sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr), what);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) row(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? absl::OkStatus() : SqlError(rc, what);
  }

  // Prepares `sql` once and runs it for every value of `items`, bound by `bind`.
  template <typename Items, typename Bind>
  absl::Status WriteEach(const char* sql, const char* what, const Items& items, Bind bind) {
    sqlite3_stmt* stmt = nullptr;
    AGORA_RETURN_IF_ERROR_SQL(sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr), what);
    for (const auto& [key, item] : items) {
      bind(stmt, item);
      const int rc = sqlite3_step(stmt);
      sqlite3_reset(stmt);
      if (rc != SQLITE_DONE) {
        sqlite3_finalize(stmt);
        return SqlError(rc, what);
      }
    }
    sqlite3_finalize(stmt);
    return absl::OkStatus();
  }

  sqlite3* db_;
};

#undef AGORA_RETURN_IF_ERROR_SQL

}  // namespace

absl::StatusOr<std::unique_ptr<Registry>> OpenSqliteRegistry(const std::string& path,
                                                             EventLoop* loop) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open(path.c_str(), &db);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("cannot open registry ", path, ": ", message));
  }
  auto registry = std::make_unique<SqliteRegistry>(db, loop);
  AGORA_RETURN_IF_ERROR(registry->Init());
  return registry;
}

}  // namespace agora::master
