// A small RAII layer over SQLite (Debian libsqlite3): a connection, prepared statements with
// typed binds and columns, and transactions that roll back unless committed. Every error is
// an xclip::Error naming the database file and SQLite's message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace xclip::index {

class Statement;

class Database {
 public:
  // Opens (create = true: creates) the database file. WAL journal and synchronous=FULL: a
  // killed process never leaves a committed transaction half written.
  Database(const std::string& path, bool create);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql);
  Statement prepare(const std::string& sql);
  std::int64_t last_insert_id() const;
  // Reads `floats` floats at float offset `at` of a blob (table.column of row `rowid`)
  // straight into dst, without SQLite's intermediate copy of the whole value. FormatError
  // if the row is missing or the blob is not `total` floats long.
  void read_blob_floats(const char* table, const char* column, std::int64_t rowid, std::int64_t total,
                        std::int64_t at, std::int64_t floats, float* dst);
  std::int64_t changes() const;
  const std::string& path() const { return path_; }

  // Throws FormatError / IoError for a failed call `rc`, naming the file and `what`.
  void check(int rc, const char* what) const;

 private:
  friend class Statement;
  void enable_wal();

  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement(Database& db, const std::string& sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds are 1-based, as in SQLite.
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, double v);
  Statement& bind(int i, std::string_view text);
  Statement& bind_blob(int i, const void* data, std::size_t bytes);
  Statement& bind_null(int i);
  // true while a row is available; false when done.
  bool step();
  void run();  // step() for statements without rows
  void reset();

  // Columns are 0-based.
  std::int64_t int64(int i) const;
  double real(int i) const;
  std::string text(int i) const;
  bool is_null(int i) const;
  // The blob as floats; FormatError unless it holds exactly `expected` floats (expected < 0:
  // any whole number of floats).
  std::vector<float> floats(int i, std::int64_t expected, const char* what) const;
  // Copies the blob (expected_bytes floats' worth) into dst.
  void copy_floats(int i, float* dst, std::int64_t expected, const char* what) const;
  std::vector<std::uint8_t> bytes(int i) const;
  // The blob in place (valid until the next step/reset); FormatError unless it holds exactly
  // `expected` floats.
  const float* blob_floats(int i, std::int64_t expected, const char* what) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (an exception).
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace xclip::index
