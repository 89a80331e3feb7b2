#include "index/sqlite.h"

#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/check.h"

namespace xclip::index {

Database::Database(const std::string& path, bool create) : path_(path) {
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    XCLIP_FAIL(IoError) << path << ": cannot open the index database: " << message;
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 10000);  // another indexer or a server may hold the write lock briefly
  // 64 KiB pages (only a new database takes them, before WAL is on): a window's stored
  // features (400 KB for base-patch32) span 7 overflow pages instead of 100.
  exec("PRAGMA page_size=65536");
  enable_wal();
  exec("PRAGMA synchronous=FULL");
  // Reads through a memory map: stage 2 reads megabytes of stored features per query.
  exec("PRAGMA mmap_size=2147418112");
  exec("PRAGMA foreign_keys=ON");
}

Database::~Database() { sqlite3_close_v2(db_); }

// Switching a database to WAL takes an exclusive lock for a moment. When two connections
// switch at once (an indexer creating the database while a reader or a server opens it), each
// holds a shared lock and wants the other's: SQLite then answers one of them SQLITE_BUSY at
// once instead of calling the busy handler, which could only deadlock. That connection waits
// for the other to finish here, within the same 10 s the busy handler allows.
void Database::enable_wal() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    const int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() > deadline)
      return check(rc, "PRAGMA journal_mode=WAL");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Database::check(int rc, const char* what) const {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  const int primary = rc & 0xff;
  const std::string message = sqlite3_errmsg(db_);
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_FORMAT)
    XCLIP_FAIL(FormatError) << path_ << ": the index database is damaged (" << what << "): " << message;
  XCLIP_FAIL(IoError) << path_ << ": " << what << " failed: " << message;
}

void Database::exec(const std::string& sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (error) sqlite3_free(error);
  check(rc, sql.substr(0, 60).c_str());
}

void Database::read_blob_floats(const char* table, const char* column, std::int64_t rowid, std::int64_t total,
                                std::int64_t at, std::int64_t floats, float* dst) {
  sqlite3_blob* blob = nullptr;
  int rc = sqlite3_blob_open(db_, "main", table, column, rowid, 0, &blob);
  if (rc != SQLITE_OK) {
    sqlite3_blob_close(blob);
    XCLIP_CHECK((rc & 0xff) != SQLITE_ERROR, FormatError)
        << path_ << ": no " << table << "." << column << " for row " << rowid << " (damaged index)";
    check(rc, "opening a stored blob");
  }
  const int bytes = sqlite3_blob_bytes(blob);
  if (bytes != total * static_cast<std::int64_t>(sizeof(float))) {
    sqlite3_blob_close(blob);
    XCLIP_FAIL(FormatError) << path_ << ": " << table << "." << column << " of row " << rowid << " holds " << bytes
                            << " bytes, expected " << total * 4 << " (a damaged index)";
  }
  rc = sqlite3_blob_read(blob, dst, static_cast<int>(floats * 4), static_cast<int>(at * 4));
  sqlite3_blob_close(blob);
  check(rc, "reading a stored blob");
}

Statement Database::prepare(const std::string& sql) { return Statement(*this, sql); }
std::int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
std::int64_t Database::changes() const { return sqlite3_changes64(db_); }

Statement::Statement(Database& db, const std::string& sql) : db_(&db) {
  db.check(sqlite3_prepare_v2(db.db_, sql.c_str(), -1, &stmt_, nullptr), "preparing a query");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }

Statement& Statement::bind(int i, std::int64_t v) {
  db_->check(sqlite3_bind_int64(stmt_, i, v), "binding");
  return *this;
}
Statement& Statement::bind(int i, double v) {
  db_->check(sqlite3_bind_double(stmt_, i, v), "binding");
  return *this;
}
Statement& Statement::bind(int i, std::string_view text) {
  db_->check(sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8), "binding");
  return *this;
}
Statement& Statement::bind_blob(int i, const void* data, std::size_t bytes) {
  db_->check(sqlite3_bind_blob64(stmt_, i, data, bytes, SQLITE_TRANSIENT), "binding");
  return *this;
}
Statement& Statement::bind_null(int i) {
  db_->check(sqlite3_bind_null(stmt_, i), "binding");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(stmt_);
  db_->check(rc, sqlite3_sql(stmt_));
  return false;
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::int64(int i) const { return sqlite3_column_int64(stmt_, i); }
double Statement::real(int i) const { return sqlite3_column_double(stmt_, i); }
bool Statement::is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

std::string Statement::text(int i) const {
  const auto* p = sqlite3_column_text(stmt_, i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
           : std::string();
}

std::vector<std::uint8_t> Statement::bytes(int i) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, i));
  const int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
}

const float* Statement::blob_floats(int i, std::int64_t expected, const char* what) const {
  const void* p = sqlite3_column_blob(stmt_, i);
  const std::int64_t bytes = sqlite3_column_bytes(stmt_, i);
  XCLIP_CHECK(p != nullptr && bytes == expected * static_cast<std::int64_t>(sizeof(float)), FormatError)
      << db_->path() << ": " << what << " holds " << bytes << " bytes, expected " << expected * 4
      << " (a damaged index, or one written by another program)";
  return static_cast<const float*>(p);  // SQLite aligns blobs for any type (malloc'd)
}

void Statement::copy_floats(int i, float* dst, std::int64_t expected, const char* what) const {
  std::memcpy(dst, blob_floats(i, expected, what), sizeof(float) * static_cast<std::size_t>(expected));
}

std::vector<float> Statement::floats(int i, std::int64_t expected, const char* what) const {
  const std::int64_t bytes = sqlite3_column_bytes(stmt_, i);
  const std::int64_t count = expected >= 0 ? expected : bytes / static_cast<std::int64_t>(sizeof(float));
  XCLIP_CHECK(expected >= 0 || bytes % 4 == 0, FormatError)
      << db_->path() << ": " << what << " is not a whole number of floats (" << bytes << " bytes)";
  std::vector<float> out(static_cast<std::size_t>(count));
  if (count > 0) copy_floats(i, out.data(), count, what);
  return out;
}

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (done_) return;
  try {
    db_.exec("ROLLBACK");
  } catch (...) {  // nothing more to do: the connection closes the transaction
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace xclip::index
