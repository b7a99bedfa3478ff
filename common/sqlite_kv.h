// SqliteKv: a framework's durable state as (kind, key) -> text records in one
// SQLite file (WAL). Writes are buffered and land together, in one
// transaction, at Flush(); a framework flushes before it acknowledges or acts
// on what it wrote, so a crash never loses a change that anyone saw.
// Durability: with `fsync` false (synchronous=NORMAL) a committed
// transaction survives the process being killed but not the machine losing
// power; with true (synchronous=FULL) it survives both, at an fsync a flush.
// The file is locked for the process's lifetime (one writer; a second
// daemon on the same work dir fails to open it). Not thread-safe: owned by
// one loop.
//
// Example:
//   auto kv = SqliteKv::Open(dir + "/batch.db", /*fsync=*/false);
//   (*kv)->Put("job", id, json.dump());
//   AGORA_RETURN_IF_ERROR((*kv)->Flush());
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace agora {

class SqliteKv {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteKv>> Open(const std::string& path, bool fsync);
  ~SqliteKv();

  void Put(const std::string& kind, const std::string& key, std::string value);
  void Erase(const std::string& kind, const std::string& key);
  // Writes everything buffered in one transaction. On error nothing is
  // written and the buffer is kept, so a later Flush retries it.
  absl::Status Flush();
  size_t buffered() const { return pending_.size(); }

  // Every committed record of `kind`, ordered by key.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LoadAll(const std::string& kind);
  absl::StatusOr<std::optional<std::string>> Get(const std::string& kind, const std::string& key);

 private:
  explicit SqliteKv(sqlite3* db) : db_(db) {}
  absl::Status Exec(const char* sql);

  sqlite3* db_;
  sqlite3_stmt* put_ = nullptr;    // prepared once
  sqlite3_stmt* erase_ = nullptr;
  // (kind, key) -> value, or nullopt to erase.
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> pending_;
};

}  // namespace agora
