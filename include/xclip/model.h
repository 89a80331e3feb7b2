// Loading an X-CLIP model folder and running it: XCLIPModel, get_text_features,
// get_video_features, with the numbers of Hugging Face transformers.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xclip/config.h"
#include "xclip/options.h"
#include "xclip/outputs.h"
#include "xclip/tensor.h"

namespace xclip {

class Model;

// Mutable per-call state (scratch memory). One per thread; many can share one Model.
class Session {
 public:
  explicit Session(std::shared_ptr<const Model> model);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // XCLIPModel.forward. Outputs: logits_per_video, logits_per_text, text_embeds,
  // video_embeds, [loss], text_model_output/..., vision_model_output/..., mit_output/...
  NamedTensors forward(const ForwardInputs& inputs, const ForwardOptions& options = {});
  // XCLIPModel.get_text_features: F32 [texts, projection_dim].
  Tensor get_text_features(const Tensor& input_ids, const Tensor& attention_mask = Tensor());
  // forward() against precomputed get_text_features output (encode a label set once, score
  // many videos): logits_per_video, logits_per_text, text_embeds, video_embeds.
  NamedTensors forward_with_text_features(const Tensor& pixel_values, const Tensor& text_features,
                                          bool interpolate_pos_encoding = false);
  // XCLIPModel.get_video_features: F32 [videos, projection_dim].
  Tensor get_video_features(const Tensor& pixel_values, bool interpolate_pos_encoding = false);
  // get_video_features plus what the prompt generator derives from the video: store it, and
  // logits_from_video_features scores texts against it later without the frames.
  VideoSearchFeatures get_video_search_features(const Tensor& pixel_values, bool interpolate_pos_encoding = false);
  // logits_per_video F32 [videos, texts] of forward() on those videos and get_text_features
  // output, computed from get_video_search_features output.
  Tensor logits_from_video_features(const VideoSearchFeatures& video, const Tensor& text_features);

  // XCLIPTextModel.forward: last_hidden_state [texts, length, hidden], pooler_output
  // [texts, hidden], hidden_states/<k> and attentions/<k> when asked.
  NamedTensors text_model(const Tensor& input_ids, const Tensor& attention_mask = Tensor(),
                          const ForwardOptions& options = {});
  // XCLIPVisionModel.forward on pixel_values F32 [videos·num_frames, channels, height, width]
  // (frames of consecutive videos, as transformers reshapes them): last_hidden_state
  // [images, tokens, hidden], pooler_output [images, hidden], hidden_states/attentions.
  NamedTensors vision_model(const Tensor& pixel_values, const ForwardOptions& options = {});

  const Model& model() const { return *model_; }
  // Bytes this session keeps for activations: the high-water mark of its calls so far, held
  // so that later calls of that size allocate nothing.
  std::size_t workspace_bytes() const;

 private:
  struct State;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<State> state_;
};

// An immutable loaded model; share it between sessions and threads.
class Model {
 public:
  // `path_or_id` is a model folder with config.json and model.safetensors (or a sharded
  // model.safetensors.index.json, or pytorch_model.bin), or a hub id "org/name[@revision]"
  // resolved through the Hugging Face cache (resolve_model).
  static std::shared_ptr<const Model> load(const std::string& path_or_id, const LoadOptions& options = {});
  // A model from tensors in memory (state-dict names), e.g. freshly initialised weights.
  // `options.part` says which tower(s) `weights` holds.
  static std::shared_ptr<const Model> from_weights(const XCLIPConfig& config, std::map<std::string, Tensor> weights,
                                                   const LoadOptions& options = {});
  ~Model();

  // What load() with `requested` would run the folder's linear layers in (Auto resolved:
  // int8 for a converted folder whose self-check passed here, else float32), read from its
  // weight headers and conversion record without building the model.
  static WeightType resolve_weights(const std::string& folder, WeightType requested);

  // The floating-point weights (state-dict name, shape) a model of `config` reads, in
  // module order: what from_weights() needs, e.g. to initialise a model from a config.
  static std::vector<std::pair<std::string, std::vector<std::int64_t>>> weight_shapes(const XCLIPConfig& config,
                                                                                    ModelPart part = ModelPart::Full);

  const XCLIPConfig& config() const;
  const std::string& path() const;
  int num_threads() const;
  // What the linear layers run in: WeightType::F32, Int8 or Bf16 (Auto resolved).
  WeightType weights() const;
  ModelPart part() const;
  // LoadOptions::interpolate_frames: other frame counts than config().vision_config.num_frames.
  bool interpolate_frames() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xclip
