// The index database: schema, metadata, and the rows of videos and windows. SQLite is the
// source of truth; each indexed video is written in one transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "index/sqlite.h"
#include "xclip/index.h"
#include "xclip/outputs.h"
#include "xclip/tensor.h"

namespace xclip::index {

inline constexpr int kFormatVersion = 1;

struct StoredVideo {
  std::int64_t id = 0;
  std::string path;
  std::int64_t size = 0, mtime_ns = 0;
  std::string content_hash;
};

// One embedded window, ready to be written.
struct WindowRecord {
  double start = 0, end = 0;
  std::vector<std::int64_t> frame_indices;
  std::vector<float> embedding;    // raw get_video_features row [projection_dim]
  std::vector<float> keys_values;  // [prompt_layers, patches, 2·projection_dim]
  std::vector<std::uint8_t> thumbnail;  // JPEG
};

struct VideoRecord {
  std::string path;
  std::int64_t size = 0, mtime_ns = 0;
  std::string content_hash;
  double duration = 0;
  std::int64_t frame_count = 0;
  std::vector<WindowRecord> windows;
};

// Shapes every stored window must have (from the model's config at creation).
struct FeatureShape {
  std::int64_t dim = 0, layers = 0, patches = 0;
  std::int64_t keys_values_floats() const { return layers * patches * 2 * dim; }
};

class IndexStore {
 public:
  // Opens <dir>/index.sqlite. create: makes the folder and an empty schema if absent.
  IndexStore(const std::string& dir, bool create);

  const std::string& dir() const { return dir_; }
  Database& db() { return db_; }
  bool initialised();  // meta holds a format version
  std::optional<std::string> meta(const std::string& key);
  std::string required_meta(const std::string& key);
  void set_meta(const std::string& key, const std::string& value);  // inside the caller's transaction
  std::int64_t generation();  // bumped by every change of the windows
  void bump_generation();

  std::map<std::string, StoredVideo> videos();
  std::map<std::string, std::pair<StoredVideo, std::string>> failures();  // path -> (version, error)

  // Replaces any video at record.path (and its windows), clears a recorded failure: one
  // transaction, so a killed indexer leaves either the old or the new version.
  void put_video(const VideoRecord& record, const FeatureShape& shape);
  void put_failure(const StoredVideo& version, const std::string& error);
  void move_video(std::int64_t id, const std::string& new_path, std::int64_t mtime_ns);
  // A stored video with every window's features and thumbnail (to copy it into another shard).
  VideoRecord read_video(std::int64_t id, const FeatureShape& shape);
  std::size_t remove_videos(const std::vector<std::int64_t>& ids);
  void forget_failures(const std::vector<std::string>& paths);

  std::int64_t window_count();
  // Moves what the write-ahead log holds into the database file (searches then read it
  // through the memory map instead of looking pages up in the log).
  void checkpoint();
  std::set<std::int64_t> window_ids();
  std::int64_t video_count();
  // Every window's id and raw embedding, [n, dim] row-major.
  void all_embeddings(const FeatureShape& shape, std::vector<std::int64_t>& ids, std::vector<float>& embeddings);
  struct WindowMeta {
    std::string path;
    double start = 0, end = 0;
    std::vector<std::int64_t> frame_indices;
  };
  std::optional<WindowMeta> window_meta(std::int64_t id);
  // Raw embeddings [n, dim] and keys/values [layers, n, patches, 2·dim] of these windows,
  // written to the caller's buffers (reused across queries: fresh pages would cost more to
  // fault in than the read itself).
  void read_search_features(const std::vector<std::int64_t>& ids, const FeatureShape& shape, float* embeddings,
                            float* keys_values);
  std::vector<std::uint8_t> thumbnail(std::int64_t id);
  std::vector<IndexedWindow> windows(const FeatureShape& shape);

 private:
  std::string dir_;
  Database db_;
};

std::string join_indices(const std::vector<std::int64_t>& v);
std::vector<std::int64_t> split_indices(const std::string& s);

}  // namespace xclip::index
