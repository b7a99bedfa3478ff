#include "common/sqlite_kv.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace agora {
namespace {

absl::Status SqlError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", sqlite3_errmsg(db)));
}

// Owns a prepared statement.
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteKv>> SqliteKv::Open(const std::string& path, bool fsync) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", why));
  }
  std::unique_ptr<SqliteKv> kv(new SqliteKv(db));
  // Exclusive locking: no file lock per transaction, and no second writer.
  for (const char* sql :
       {"PRAGMA locking_mode=EXCLUSIVE;", "PRAGMA journal_mode=WAL;",
        fsync ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;",
        "CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, "
        "value TEXT NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;",
        "BEGIN IMMEDIATE; COMMIT;"}) {  // takes the lock now: a second daemon fails here
    if (absl::Status s = kv->Exec(sql); !s.ok()) {
      return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", s.message()));
    }
  }
  if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO records (kind, key, value) VALUES (?, ?, ?)",
                         -1, &kv->put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "DELETE FROM records WHERE kind = ? AND key = ?", -1, &kv->erase_,
                         nullptr) != SQLITE_OK) {
    return SqlError(db, "prepare");
  }
  return kv;
}

SqliteKv::~SqliteKv() {
  sqlite3_finalize(put_);
  sqlite3_finalize(erase_);
  sqlite3_close(db_);
}

absl::Status SqliteKv::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db_, sql);
  return absl::OkStatus();
}

void SqliteKv::Put(const std::string& kind, const std::string& key, std::string value) {
  pending_[{kind, key}] = std::move(value);
}

void SqliteKv::Erase(const std::string& kind, const std::string& key) {
  pending_[{kind, key}] = std::nullopt;
}

absl::Status SqliteKv::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  if (absl::Status s = Exec("BEGIN"); !s.ok()) return s;
  auto fail = [&](absl::string_view what) {
    absl::Status s = SqlError(db_, what);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  };
  for (const auto& [id, value] : pending_) {
    sqlite3_stmt* s = value ? put_ : erase_;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, id.first.data(), id.first.size(), SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id.second.data(), id.second.size(), SQLITE_STATIC);
    if (value) sqlite3_bind_text(s, 3, value->data(), value->size(), SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) return fail(absl::StrCat("write ", id.first, " ", id.second));
  }
  for (sqlite3_stmt* s : {put_, erase_}) {  // drop pointers into pending_
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("commit");
  pending_.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> SqliteKv::LoadAll(
    const std::string& kind) {
  Statement q;
  if (sqlite3_prepare_v2(db_, "SELECT key, value FROM records WHERE kind = ? ORDER BY key", -1,
                         &q.stmt, nullptr) != SQLITE_OK) {
    return SqlError(db_, "read");
  }
  sqlite3_bind_text(q.stmt, 1, kind.data(), kind.size(), SQLITE_STATIC);
  std::vector<std::pair<std::string, std::string>> rows;
  int rc;
  while ((rc = sqlite3_step(q.stmt)) == SQLITE_ROW) {
    rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q.stmt, 0)),
                      reinterpret_cast<const char*>(sqlite3_column_text(q.stmt, 1)));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, absl::StrCat("read ", kind));
  return rows;
}

absl::StatusOr<std::optional<std::string>> SqliteKv::Get(const std::string& kind,
                                                         const std::string& key) {
  Statement q;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM records WHERE kind = ? AND key = ?", -1, &q.stmt,
                         nullptr) != SQLITE_OK) {
    return SqlError(db_, "read");
  }
  sqlite3_bind_text(q.stmt, 1, kind.data(), kind.size(), SQLITE_STATIC);
  sqlite3_bind_text(q.stmt, 2, key.data(), key.size(), SQLITE_STATIC);
  int rc = sqlite3_step(q.stmt);
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return SqlError(db_, "read");
  return std::optional<std::string>(reinterpret_cast<const char*>(sqlite3_column_text(q.stmt, 0)));
}

}  // namespace agora
