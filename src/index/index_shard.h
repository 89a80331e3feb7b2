// One index folder (index.sqlite and its vector file): what a plain index is, and what each
// shard of a collection is. VideoIndex (video_index.cc) drives one or several of them: it
// plans an update over all shards (so that a file moved to another shard is adopted, not
// decoded again), then each shard adopts, removes and embeds its own files.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "index/file_scan.h"
#include "index/index_store.h"
#include "index/vector_index.h"
#include "xclip/index.h"
#include "xclip/outputs.h"
#include "xclip/processor.h"

namespace xclip {
class Model;
class Session;
}  // namespace xclip

namespace xclip::index {

// What the shards of one index share (they agree on the model): the model, its video
// processor and its tokenizer, each loaded once on first use (indexing needs no tokenizer,
// searching no video processor), and the model folders' fingerprints, computed once each.
struct SharedModel {
  std::mutex model_mutex;  // held while the model loads
  std::shared_ptr<const Model> model;
  // The rest is quick to make and has its own lock: a shard checks its model folder and starts
  // decoding while another loads the model.
  std::mutex mutex;
  std::shared_ptr<const VideoProcessor> video_processor;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::map<std::string, std::string> fingerprints;  // folder -> folder_fingerprint

  std::string fingerprint(const std::string& folder);
};

// What an update has to do in one shard, worked out before anything is written.
struct UpdatePlan {
  std::map<std::string, StoredVideo> indexed;      // what the shard holds, by path
  std::vector<FileVersion> todo;                   // new or changed files
  std::vector<StoredVideo> vanished;               // held under the roots, gone from disk
  std::vector<std::string> gone_failures;          // remembered failures under the roots, gone
  std::vector<StoredVideo> adopted_away;           // vanished here, now held by another shard
};

struct IndexShard {
  IndexStore store;
  IndexOpenOptions options;
  std::string model_path;  // the resolved model folder
  FeatureShape shape;
  IndexSettings settings;
  WeightType dtype = WeightType::F32;

  std::shared_ptr<SharedModel> shared_model;
  std::unique_ptr<Session> session;
  std::shared_ptr<std::vector<float>> feature_buffer;  // reused by every stage 2

  std::unique_ptr<VectorIndex> vectors;
  std::int64_t vectors_generation = -1;

  // Opens `dir`, creating it when absent and options.create.
  IndexShard(const std::string& dir, const IndexOpenOptions& options, std::shared_ptr<SharedModel> shared);
  ~IndexShard();

  std::string db_path() { return store.db().path(); }
  // Refuses a model folder that is gone or changed since the index was built.
  void check_model_folder();
  void ensure_model();
  const VideoProcessor& video_processor();
  const Tokenizer& tokenizer();
  Tensor text_features(const std::string& text);
  Tensor video_features_of(const std::string& path);

  // ---- update ----
  // `files`: this shard's share of the scan (the rest belong to other shards).
  UpdatePlan plan_update(const std::vector<FileVersion>& files, const std::vector<std::string>& roots,
                         IndexUpdateReport& report);
  // Every window of a stored video with its features and thumbnails (to copy it to a shard).
  VideoRecord read_video(const StoredVideo& video);
  void remove_vanished(const UpdatePlan& plan, IndexUpdateReport& report);
  void embed_files(const std::vector<FileVersion>& files, const std::vector<std::string>& hashes,
                   const std::map<std::string, StoredVideo>& indexed, IndexUpdateReport& report,
                   const std::function<void(const std::string&, std::int64_t)>& on_file_done);
  // After a change: the log checkpointed, stage 1 rebuilt, stale thumbnails swept.
  void finish_update();

  // ---- search ----
  void check_query_features(const Tensor& features, const char* what) const;
  // Stage 1: the `k` windows nearest to `query` (L2-normalised) by cosine.
  Neighbours nearest(const float* query, std::int64_t k, int nprobe);
  // Stage 2: X-CLIP's logit of the text and each of these windows.
  std::vector<float> logits(const std::vector<std::int64_t>& ids, const Tensor& text_features);
  std::vector<SearchHit> rank_all(const Tensor& text_features);
  // Path and times of a hit; false if the window or its file is gone.
  bool locate(SearchHit& hit);

  std::size_t remove(const std::vector<std::string>& paths);
  std::string thumbnail_path(std::int64_t id);
  IndexInfo info();

 private:
  void create();
  WeightType created_dtype(const std::string& folder);
  void read_meta();
  VideoSearchFeatures search_features(const std::vector<std::int64_t>& ids);
  std::string vectors_path() const;
  bool load_saved_vectors(std::int64_t generation);
  void ensure_vectors();
  void save_vectors(std::int64_t generation);
  void sweep_thumbnails();
};

}  // namespace xclip::index
