// A searchable index of a video collection: videos cut into windows, each stored with its
// X-CLIP video embedding and what the prompt generator needs from it, so that a text query
// is answered in two stages: the nearest windows by the plain text embedding (a vector
// index), then X-CLIP's own video-conditioned logit for each of them (no video decoded).
//
// One folder holds everything (copy it to move the index): index.sqlite (videos, windows,
// features, thumbnails; the source of truth, written in one transaction per video) and
// vectors.faiss (the stage-1 vector index, derived from the database and rebuilt from it
// whenever it is missing, stale or damaged).
//
// A collection is an index in N shards: collection.json (model, settings, shard folders)
// and N such folders, each file in the shard a stable hash of its path picks. It opens,
// updates and searches exactly as one index; each shard can be updated by its own process
// (IndexUpdateOptions::shard), which is how a Dask cluster builds one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xclip/options.h"
#include "xclip/tensor.h"
#include "xclip/video.h"

namespace xclip {

class Model;

// How videos are cut and sampled; fixed when the index is created (recorded in it).
struct IndexSettings {
  double window_seconds = 10.0;  // a video shorter than this is one window
  double stride_seconds = 0.0;   // start-to-start distance; 0 = window_seconds (no overlap)
  int num_frames = 0;            // frames per window (uniform); 0 = the model's num_frames
  int thumbnail_size = 160;      // longest side of the JPEG thumbnail of each window, pixels
  // SeekMode::Keyframe: each sampled frame is replaced by the keyframe at or before it (one
  // decoded picture per frame: fast, inexact). Recorded; the windows keep the frames used.
  SeekMode seek = SeekMode::Exact;
};

struct IndexOpenOptions {
  // The model: a folder or a hub id. Creating an index needs it; opening an existing one
  // uses the recorded model when empty, and refuses a different one.
  std::string model;
  // A model already loaded from that same `model` (a server's): searches use it instead of
  // loading a second copy. Its weights type must be the index's dtype.
  std::shared_ptr<const Model> loaded_model;
  // Creating: what the index is built with (recorded). Auto, as everywhere: int8 for a folder
  // converted by `xclip convert` whose self-check passed, else float32.
  WeightType dtype = WeightType::Auto;
  int num_threads = 0;                 // 0 = XCLIP_NUM_THREADS or the number of cores
  int decode_threads = 0;              // FFmpeg's decoder threads per video; 0 = automatic
  HubOptions hub;
  DecodeLimits decode_limits;  // what one video may cost to decode
  IndexSettings settings;  // creating only
  bool create = true;      // false: a missing index is an error
  // Creating: 0 makes a plain index, N > 0 a collection of N shards. Opening: 0 takes
  // whatever the folder holds; N > 0 must match it.
  int shards = 0;
  // Stage 1 switches from exact (flat) search to an approximate inverted-file index at
  // this many windows (see docs/search.md, "Search at scale"); a collection's shards switch
  // when the whole collection reaches it (each at its share, approximate_from / shards).
  std::int64_t approximate_from = 100000;
};

struct IndexProgress {
  std::size_t files_done = 0, files_total = 0;  // files that needed embedding
  std::int64_t windows_done = 0;
  double elapsed_seconds = 0.0;
  std::string current;  // the file just finished
};
using IndexProgressCallback = std::function<void(const IndexProgress&)>;

struct IndexUpdateOptions {
  // A collection's shard to update (the others are only read, to adopt files moved into this
  // one without decoding them); -1: every shard. One process per shard at a time: a second
  // writer of the same shard is refused.
  int shard = -1;
  // false: files gone from disk stay in the index for now (a file moved to another shard may
  // still be adopted from here by that shard's process); a later update removes them.
  bool remove_vanished = true;
};

struct IndexUpdateReport {
  std::size_t added = 0, updated = 0, moved = 0, removed = 0, unchanged = 0;
  std::int64_t windows_added = 0;
  std::size_t decoded = 0;  // files decoded (added + updated, including failures)
  // The decoding work of the files embedded: pictures the decoders produced, against the
  // pictures those files hold (exact sampling decodes the keyframe stretches its frames need,
  // keyframe mode one picture per frame; skipped non-reference pictures are not produced).
  std::int64_t pictures_decoded = 0, pictures_in_files = 0;
  std::vector<std::pair<std::string, std::string>> failed;  // path, why (skipped)
  double seconds = 0.0;
};

struct SearchOptions {
  int top = 10;      // hits returned
  int rerank = 100;  // stage-1 candidates re-scored with X-CLIP's logit; 0 = stage 1 only
  // Approximate stage 1 only: inverted lists visited per query (more = slower, closer to exact).
  int nprobe = 32;
};

struct SearchHit {
  std::int64_t window_id = 0;
  std::string path;
  double start = 0, end = 0;  // seconds
  // X-CLIP's logits_per_video of the query and this window (stage 2), or the stage-1
  // cosine when the hit was not re-ranked (rerank 0, or searches by video).
  float score = 0;
  float stage1_score = 0;  // cosine of the plain text (or video) embedding and the window's
  bool reranked = false;
};

struct IndexedWindow {
  std::int64_t id = 0;
  std::string path;
  double start = 0, end = 0;
  std::vector<std::int64_t> frame_indices;
  std::vector<float> embedding;  // L2-normalised video embedding
};

struct IndexInfo {
  std::string dir, model, model_fingerprint, revision, dtype;
  int format_version = 0;
  IndexSettings settings;
  std::int64_t videos = 0, windows = 0;
  std::string stage1;  // "flat" or "ivf<nlist>" (a collection: its shards' kinds, joined by ",")
  int shards = 0;      // 0: a plain index; else the collection's shard count
  std::vector<std::string> shard_dirs;
};

class VideoIndex {
 public:
  // Opens `dir`, creating it when absent (options.create). Errors name the folder and the
  // problem: another model, a newer format, a damaged database.
  static VideoIndex open(const std::string& dir, const IndexOpenOptions& options = {});
  ~VideoIndex();
  VideoIndex(VideoIndex&&) noexcept;
  VideoIndex& operator=(VideoIndex&&) noexcept;

  // Brings the index in line with the files under `paths` (files or folders, recursive;
  // folders by video extension): new files are embedded, changed ones (size, mtime)
  // re-embedded, moved ones (same content elsewhere) renamed without decoding, indexed ones
  // under these roots that vanished removed. Unreadable files are reported and skipped.
  // Each file is committed on its own: a killed run loses only the file in progress.
  IndexUpdateReport update(const std::vector<std::string>& paths, const IndexProgressCallback& on_progress = {},
                           const IndexUpdateOptions& options = {});
  // Removes these files (or every indexed file under these folders); returns how many.
  std::size_t remove(const std::vector<std::string>& paths);

  // Text to moments: stage 1 by the prompt's plain text embedding, stage 2 X-CLIP's logit.
  std::vector<SearchHit> search(const std::string& text, const SearchOptions& options = {});
  // Moments like a video (its first window's embedding; stage 1 only: X-CLIP has no
  // video-to-video score).
  std::vector<SearchHit> search_like(const std::string& video_path, const SearchOptions& options = {});
  // search_like from a get_video_features row F32 [1, projection_dim] computed elsewhere (a
  // server decodes the video without holding the index).
  std::vector<SearchHit> search_video_features(const Tensor& video_features, const SearchOptions& options = {});
  // Stage 1 and 2 from a get_text_features row F32 [1, projection_dim] (raw, as the model
  // gives it).
  std::vector<SearchHit> search_text_features(const Tensor& text_features, const SearchOptions& options = {});
  // The query's embedding, as search() computes it (a front server embeds once and sends it
  // to shard servers): get_text_features F32 [1, projection_dim].
  Tensor text_features(const std::string& text);
  // X-CLIP's logit of the query and every window, best first (brute force: for tests and
  // for measuring what stage 1 loses).
  std::vector<SearchHit> rank_all(const Tensor& text_features);

  // Window ids: a plain index's own; in a collection, id·shards + shard (unique across shards).
  // The JPEG thumbnail of a window (its middle sampled frame).
  std::vector<std::uint8_t> thumbnail(std::int64_t window_id) const;
  // The thumbnail written as <dir>/thumbnails/<window id>.jpg (kept as a cache); its path.
  std::string thumbnail_path(std::int64_t window_id) const;

  IndexInfo info() const;
  std::vector<IndexedWindow> windows() const;  // every window, by path and start
  // One window's path, times and frames (no embedding); nullopt if the id is unknown.
  std::optional<IndexedWindow> window(std::int64_t id) const;
  const std::string& dir() const;

  struct Impl;

 private:
  explicit VideoIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The shard of a collection of `shards` that holds the file at `path` (made absolute): a stable
// hash of the path, the same on every machine and run.
std::size_t collection_shard_of(const std::string& path, std::size_t shards);

// Windows [start, end) seconds of a video of `duration` seconds (pure; what update() uses).
std::vector<std::pair<double, double>> plan_windows(double duration, const IndexSettings& settings);

}  // namespace xclip
