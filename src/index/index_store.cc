#include "index/index_store.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/check.h"
#include "xclip/pipeline.h"

namespace xclip::index {

namespace fs = std::filesystem;

namespace {

// AUTOINCREMENT: a window id is never reused, so thumbnails cached by id stay right.
const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos(
  id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL, content_hash TEXT NOT NULL, duration REAL NOT NULL, frame_count INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS videos_content ON videos(content_hash, size);
CREATE TABLE IF NOT EXISTS windows(
  id INTEGER PRIMARY KEY AUTOINCREMENT, video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
  start_s REAL NOT NULL, end_s REAL NOT NULL, frame_indices TEXT NOT NULL, embedding BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS windows_video ON windows(video_id);
CREATE TABLE IF NOT EXISTS window_features(
  window_id INTEGER PRIMARY KEY REFERENCES windows(id) ON DELETE CASCADE,
  keys_values BLOB NOT NULL, thumbnail BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS failures(
  path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, error TEXT NOT NULL);
)sql";

std::string database_path(const std::string& dir, bool create) {
  if (create) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    XCLIP_CHECK(!ec, IoError) << dir << ": cannot create the index folder: " << ec.message();
  } else {
    XCLIP_CHECK(fs::exists(fs::path(dir) / "index.sqlite"), IoError)
        << dir << ": no index here (index.sqlite missing); build one with `xclip index`";
  }
  return (fs::path(dir) / "index.sqlite").string();
}

std::uint32_t big_endian32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// SQLite finds most damage only when it reads the damaged page; a truncated file is caught
// up front from the page count its header records (kept valid by every checkpoint).
void check_not_truncated(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec || size == 0) return;  // new database
  std::FILE* f = std::fopen(path.c_str(), "rb");
  XCLIP_CHECK(f != nullptr, IoError) << path << ": cannot read the index database";
  unsigned char header[100] = {0};
  const std::size_t got = std::fread(header, 1, sizeof(header), f);
  std::fclose(f);
  XCLIP_CHECK(got == sizeof(header) && std::memcmp(header, "SQLite format 3", 16) == 0, FormatError)
      << path << ": not an SQLite database (not an xclip index, or damaged)";
  std::uint64_t page_size = (std::uint64_t{header[16]} << 8) | header[17];
  if (page_size == 1) page_size = 65536;
  const std::uint32_t pages = big_endian32(header + 28);
  const bool count_valid = big_endian32(header + 24) == big_endian32(header + 92);
  XCLIP_CHECK(!count_valid || size >= page_size * pages, FormatError)
      << path << ": the index database is truncated (" << size << " bytes, its header says " << page_size * pages
      << ")";
}

std::string checked_database_path(const std::string& dir, bool create) {
  const std::string path = database_path(dir, create);
  check_not_truncated(path);
  return path;
}

}  // namespace

std::string join_indices(const std::vector<std::int64_t>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(v[i]);
  }
  return out;
}

std::vector<std::int64_t> split_indices(const std::string& s) {
  std::vector<std::int64_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoll(item));
  return out;
}

IndexStore::IndexStore(const std::string& dir, bool create)
    : dir_(dir), db_(checked_database_path(dir, create), create) {
  db_.exec(kSchema);
}

bool IndexStore::initialised() { return meta("format_version").has_value(); }

std::optional<std::string> IndexStore::meta(const std::string& key) {
  Statement s = db_.prepare("SELECT value FROM meta WHERE key = ?");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::string IndexStore::required_meta(const std::string& key) {
  auto v = meta(key);
  XCLIP_CHECK(v.has_value(), FormatError) << db_.path() << ": the index has no '" << key << "' entry (damaged)";
  return *v;
}

void IndexStore::set_meta(const std::string& key, const std::string& value) {
  db_.prepare("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .bind(1, key)
      .bind(2, value)
      .run();
}

std::int64_t IndexStore::generation() {
  const auto g = meta("generation");
  return g ? std::stoll(*g) : 0;
}

void IndexStore::bump_generation() { set_meta("generation", std::to_string(generation() + 1)); }

std::map<std::string, StoredVideo> IndexStore::videos() {
  std::map<std::string, StoredVideo> out;
  Statement s = db_.prepare("SELECT id, path, size, mtime_ns, content_hash FROM videos");
  while (s.step()) {
    StoredVideo v{s.int64(0), s.text(1), s.int64(2), s.int64(3), s.text(4)};
    out.emplace(v.path, v);
  }
  return out;
}

std::map<std::string, std::pair<StoredVideo, std::string>> IndexStore::failures() {
  std::map<std::string, std::pair<StoredVideo, std::string>> out;
  Statement s = db_.prepare("SELECT path, size, mtime_ns, error FROM failures");
  while (s.step()) out[s.text(0)] = {StoredVideo{0, s.text(0), s.int64(1), s.int64(2), ""}, s.text(3)};
  return out;
}

void IndexStore::put_video(const VideoRecord& r, const FeatureShape& shape) {
  Transaction t(db_);
  db_.prepare("DELETE FROM videos WHERE path = ?").bind(1, r.path).run();
  db_.prepare("DELETE FROM failures WHERE path = ?").bind(1, r.path).run();
  db_.prepare("INSERT INTO videos(path, size, mtime_ns, content_hash, duration, frame_count) VALUES(?,?,?,?,?,?)")
      .bind(1, r.path)
      .bind(2, r.size)
      .bind(3, r.mtime_ns)
      .bind(4, r.content_hash)
      .bind(5, r.duration)
      .bind(6, r.frame_count)
      .run();
  const std::int64_t video_id = db_.last_insert_id();
  Statement window = db_.prepare(
      "INSERT INTO windows(video_id, start_s, end_s, frame_indices, embedding) VALUES(?,?,?,?,?)");
  Statement features = db_.prepare("INSERT INTO window_features(window_id, keys_values, thumbnail) VALUES(?,?,?)");
  for (const WindowRecord& w : r.windows) {
    XCLIP_CHECK(static_cast<std::int64_t>(w.embedding.size()) == shape.dim &&
                    static_cast<std::int64_t>(w.keys_values.size()) == shape.keys_values_floats(),
                InvalidArgument)
        << r.path << ": window features of the wrong size for this index";
    window.bind(1, video_id).bind(2, w.start).bind(3, w.end).bind(4, join_indices(w.frame_indices));
    window.bind_blob(5, w.embedding.data(), w.embedding.size() * sizeof(float)).run();
    features.bind(1, db_.last_insert_id())
        .bind_blob(2, w.keys_values.data(), w.keys_values.size() * sizeof(float))
        .bind_blob(3, w.thumbnail.data(), w.thumbnail.size())
        .run();
  }
  bump_generation();
  t.commit();
}

void IndexStore::put_failure(const StoredVideo& v, const std::string& error) {
  Transaction t(db_);
  db_.prepare("DELETE FROM videos WHERE path = ?").bind(1, v.path).run();
  db_.prepare("INSERT OR REPLACE INTO failures(path, size, mtime_ns, error) VALUES(?,?,?,?)")
      .bind(1, v.path)
      .bind(2, v.size)
      .bind(3, v.mtime_ns)
      .bind(4, error)
      .run();
  if (db_.changes() > 0) bump_generation();
  t.commit();
}

void IndexStore::move_video(std::int64_t id, const std::string& new_path, std::int64_t mtime_ns) {
  Transaction t(db_);
  db_.prepare("UPDATE videos SET path = ?, mtime_ns = ? WHERE id = ?").bind(1, new_path).bind(2, mtime_ns).bind(3, id).run();
  bump_generation();
  t.commit();
}

VideoRecord IndexStore::read_video(std::int64_t id, const FeatureShape& shape) {
  Statement v = db_.prepare("SELECT path, size, mtime_ns, content_hash, duration, frame_count FROM videos WHERE id = ?");
  v.bind(1, id);
  XCLIP_CHECK(v.step(), InvalidArgument) << db_.path() << ": no video " << id << " in the index";
  VideoRecord r{v.text(0), v.int64(1), v.int64(2), v.text(3), v.real(4), v.int64(5), {}};
  Statement w = db_.prepare(
      "SELECT w.start_s, w.end_s, w.frame_indices, w.embedding, f.keys_values, f.thumbnail FROM windows w "
      "JOIN window_features f ON f.window_id = w.id WHERE w.video_id = ? ORDER BY w.id");
  w.bind(1, id);
  while (w.step()) {
    WindowRecord window;
    window.start = w.real(0);
    window.end = w.real(1);
    window.frame_indices = split_indices(w.text(2));
    window.embedding = w.floats(3, shape.dim, "a window's embedding");
    window.keys_values = w.floats(4, shape.keys_values_floats(), "a window's prompt keys and values");
    window.thumbnail = w.bytes(5);
    r.windows.push_back(std::move(window));
  }
  return r;
}

std::size_t IndexStore::remove_videos(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return 0;
  Transaction t(db_);
  Statement s = db_.prepare("DELETE FROM videos WHERE id = ?");
  for (std::int64_t id : ids) s.bind(1, id).run();
  bump_generation();
  t.commit();
  return ids.size();
}

void IndexStore::forget_failures(const std::vector<std::string>& paths) {
  if (paths.empty()) return;
  Transaction t(db_);
  Statement s = db_.prepare("DELETE FROM failures WHERE path = ?");
  for (const std::string& p : paths) s.bind(1, p).run();
  t.commit();
}

std::int64_t IndexStore::window_count() {
  Statement s = db_.prepare("SELECT COUNT(*) FROM windows");
  s.step();
  return s.int64(0);
}

void IndexStore::checkpoint() { db_.exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

std::set<std::int64_t> IndexStore::window_ids() {
  std::set<std::int64_t> out;
  Statement s = db_.prepare("SELECT id FROM windows");
  while (s.step()) out.insert(s.int64(0));
  return out;
}

std::int64_t IndexStore::video_count() {
  Statement s = db_.prepare("SELECT COUNT(*) FROM videos");
  s.step();
  return s.int64(0);
}

void IndexStore::all_embeddings(const FeatureShape& shape, std::vector<std::int64_t>& ids,
                                std::vector<float>& embeddings) {
  const std::int64_t n = window_count();
  ids.clear();
  ids.reserve(static_cast<std::size_t>(n));
  embeddings.resize(static_cast<std::size_t>(n * shape.dim));
  Statement s = db_.prepare("SELECT id, embedding FROM windows ORDER BY id");
  std::int64_t row = 0;
  while (s.step()) {
    XCLIP_CHECK(row < n, FormatError) << db_.path() << ": windows changed while being read";
    ids.push_back(s.int64(0));
    s.copy_floats(1, embeddings.data() + row * shape.dim, shape.dim, "a window's embedding");
    ++row;
  }
  embeddings.resize(static_cast<std::size_t>(row * shape.dim));
}

std::optional<IndexStore::WindowMeta> IndexStore::window_meta(std::int64_t id) {
  Statement s = db_.prepare(
      "SELECT v.path, w.start_s, w.end_s, w.frame_indices FROM windows w JOIN videos v ON v.id = w.video_id "
      "WHERE w.id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return WindowMeta{s.text(0), s.real(1), s.real(2), split_indices(s.text(3))};
}

void IndexStore::read_search_features(const std::vector<std::int64_t>& ids, const FeatureShape& shape, float* embeddings,
                                      float* keys_values) {
  const std::int64_t n = static_cast<std::int64_t>(ids.size()), per_layer = shape.patches * 2 * shape.dim;
  Statement s = db_.prepare("SELECT embedding FROM windows WHERE id = ?");
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t id = ids[static_cast<std::size_t>(i)];
    s.bind(1, id);
    XCLIP_CHECK(s.step(), FormatError) << db_.path() << ": window " << id << " is not in the index";
    s.copy_floats(0, embeddings + i * shape.dim, shape.dim, "a window's embedding");
    s.reset();
    // Stored per window as [layers, patches, 2·dim]; the model takes [layers, windows, ...].
    for (std::int64_t l = 0; l < shape.layers; ++l)
      db_.read_blob_floats("window_features", "keys_values", id, shape.keys_values_floats(), l * per_layer, per_layer,
                           keys_values + (l * n + i) * per_layer);
  }
}

std::vector<std::uint8_t> IndexStore::thumbnail(std::int64_t id) {
  Statement s = db_.prepare("SELECT thumbnail FROM window_features WHERE window_id = ?");
  s.bind(1, id);
  XCLIP_CHECK(s.step(), InvalidArgument) << dir_ << ": no window " << id << " in the index";
  return s.bytes(0);
}

std::vector<IndexedWindow> IndexStore::windows(const FeatureShape& shape) {
  std::vector<IndexedWindow> out;
  Statement s = db_.prepare(
      "SELECT w.id, v.path, w.start_s, w.end_s, w.frame_indices, w.embedding FROM windows w "
      "JOIN videos v ON v.id = w.video_id ORDER BY v.path, w.start_s, w.id");
  while (s.step()) {
    IndexedWindow w{s.int64(0), s.text(1), s.real(2), s.real(3), split_indices(s.text(4)), {}};
    w.embedding = s.floats(5, shape.dim, "a window's embedding");
    l2_normalize(w.embedding.data(), w.embedding.size());
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace xclip::index
