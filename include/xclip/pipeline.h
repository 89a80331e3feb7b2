// The workflow from files to answers, for every front-end (CLI, Python, server): sample
// frames, decode ahead on a second thread, preprocess, batch, run the model, average the
// views, softmax or normalise, and hand each video's result over as soon as it is ready.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xclip/model.h"
#include "xclip/options.h"
#include "xclip/processor.h"
#include "xclip/tensor.h"
#include "xclip/video.h"

namespace xclip {

struct WorkflowOptions {
  // Loading (used by the constructor that loads the model itself).
  WeightType dtype = WeightType::Auto;
  int num_threads = 0;  // intra-op threads; 0 = XCLIP_NUM_THREADS or the number of cores
  ResizeBackend backend = ResizeBackend::Torchvision;
  HubOptions hub;

  // Videos. sampling.num_frames 0 = the model's num_frames; another count is refused
  // (the multi-frame integration transformer has one position embedding per frame).
  SamplingOptions sampling;
  // Load the model with LoadOptions::interpolate_frames: any frame count is accepted.
  bool interpolate_frames = false;
  int batch_size = 4;         // videos per forward pass
  std::size_t prefetch = 4;   // decoded videos kept ready ahead of inference
  int decode_threads = 0;     // FFmpeg decoder threads; 0 = automatic
  // SeekMode::Keyframe: each sampled frame is replaced by the keyframe at or before it
  // (inexact, for indexing long videos fast); VideoResult::frame_indices says which.
  SeekMode seek = SeekMode::Exact;
  DecodeLimits decode_limits;  // what one video may cost to decode

  // Texts: the prompt made of each label or text; "{}" is replaced (absent: appended).
  std::string text_template = "{}";
  // L2-normalise video and text embeddings.
  bool normalize = false;
};

// One video's sampled clips, decoded and preprocessed as Workflow, the index and the server
// prepare them: clip k is F32 [1, T, 3, H, W] of the k-th view, `indices[k]` its frame
// numbers as decoded (the keyframes used, in keyframe mode). Each frame is reduced to the
// processor's size as soon as it is decoded -- the numbers are those of preprocessing the
// clip whole -- so memory follows the model's input size, not the source's resolution.
struct PreparedClips {
  std::vector<Tensor> clips;
  std::vector<std::vector<std::int64_t>> indices;
  bool repeated = false;  // fewer frames than asked for: frames repeat
};
PreparedClips prepare_video(VideoReader& reader, const SamplingOptions& sampling, const VideoProcessor& processor);

struct VideoResult {
  std::size_t position = 0;  // index in the input list
  std::string path;
  std::string error;  // non-empty: the video could not be read and was skipped
  bool repeated_frames = false;  // fewer frames than sampled: frames repeat
  std::vector<std::vector<std::int64_t>> frame_indices;  // per view
  // embed_videos: get_video_features averaged over the views (normalised if asked).
  std::vector<float> embedding;
  // classify: logits_per_video of each label and their softmax, averaged over the views.
  std::vector<float> logits;
  std::vector<float> probabilities;

  bool ok() const { return error.empty(); }
};

struct WorkflowProgress {
  std::size_t done = 0, total = 0, failed = 0;
  double elapsed_seconds = 0.0;
};

using ResultCallback = std::function<void(const VideoResult&)>;
using ProgressCallback = std::function<void(const WorkflowProgress&)>;

// One workflow = one model, one processor, one scratch session: use one per thread (they
// can share a Model). Results come in input order; a video that cannot be read gives a
// result with `error` set and the run goes on.
class Workflow {
 public:
  // Loads `model` (a folder or a hub id) and its processor.
  explicit Workflow(const std::string& model, WorkflowOptions options = {});
  Workflow(std::shared_ptr<const Model> model, XCLIPProcessor processor, WorkflowOptions options = {});
  ~Workflow();
  Workflow(const Workflow&) = delete;
  Workflow& operator=(const Workflow&) = delete;

  // get_text_features of the prompts made of `texts`: F32 [texts, projection_dim].
  Tensor embed_texts(const std::vector<std::string>& texts);

  // Zero-shot classification: the label prompts are encoded once. Returns how many videos
  // failed.
  std::size_t classify(const std::vector<std::string>& paths, const std::vector<std::string>& labels,
                       const ResultCallback& on_result, const ProgressCallback& on_progress = {});
  // The same against label features from embed_texts() (encode once, classify many times).
  std::size_t classify(const std::vector<std::string>& paths, const Tensor& label_features,
                       const ResultCallback& on_result, const ProgressCallback& on_progress = {});
  // get_video_features per video.
  std::size_t embed_videos(const std::vector<std::string>& paths, const ResultCallback& on_result,
                           const ProgressCallback& on_progress = {});

  const std::shared_ptr<const Model>& model() const;
  const XCLIPProcessor& processor() const;
  const WorkflowOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The frame count a model takes per view: `sampling.num_frames` (0 = the model's own) when
// the model accepts it, else InvalidArgument saying why (the multi-frame integration
// transformer has one position embedding per frame; interpolate_frames resizes them).
int frames_for_model(const Model& model, const SamplingOptions& sampling);

// get_text_features of `prompts` as every front-end computes them: tokenized as
// CLIPTokenizerFast with padding to the longest and truncation. F32 [prompts, projection_dim].
Tensor prompt_features(Session& session, const Tokenizer& tokenizer, const std::vector<std::string>& prompts);

// A video's classification over its views (multi-view testing): each view's logits row is
// turned into probabilities by softmax, and the views' probabilities and logits are averaged.
// `logits` holds `views` rows of `labels` values.
struct ViewAverage {
  std::vector<float> logits, probabilities;
};
ViewAverage average_view_scores(const float* logits, std::size_t views, std::size_t labels);
// The mean of `views` rows of `dim` embeddings (summed in double).
std::vector<float> average_view_embeddings(const float* rows, std::size_t views, std::size_t dim);

// One label's place in a classification, named as every front-end reports it.
struct LabelScore {
  std::string label;
  float probability = 0.0f;  // as VideoResult holds them
  float logit = 0.0f;
};
// The labels by falling probability (equal ones keep the labels' order), the first `top`.
std::vector<LabelScore> rank_labels(const std::vector<std::string>& labels, const std::vector<float>& probabilities,
                                    const std::vector<float>& logits, std::size_t top);

// The prompt `text_template` makes of `text` ("a video of {}." + "dogs").
std::string apply_template(const std::string& text_template, const std::string& text);

// Softmax of `n` logits in double, as classify reports probabilities (those of many labels
// sum to 1 to float precision).
std::vector<double> softmax(const float* logits, std::size_t n);
// Scales `v` to unit L2 norm in place (sums in double; a zero vector stays zero).
void l2_normalize(float* v, std::size_t n);

}  // namespace xclip
