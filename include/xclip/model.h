// Loading an X-CLIP model folder and running it: XCLIPModel, get_text_features,
// get_video_features, with the numbers of Hugging Face transformers.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xclip/options.h"
#include "xclip/tensor.h"

namespace xclip {

// Field names and defaults of transformers' XCLIPTextConfig.
struct XCLIPTextConfig {
  int vocab_size = 49408;
  int hidden_size = 512;
  int intermediate_size = 2048;
  int num_hidden_layers = 12;
  int num_attention_heads = 8;
  int max_position_embeddings = 77;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  int pad_token_id = 1;
  int bos_token_id = 0;
  int eos_token_id = 2;
};

// Field names and defaults of transformers' XCLIPVisionConfig.
struct XCLIPVisionConfig {
  int hidden_size = 768;
  int intermediate_size = 3072;
  int num_hidden_layers = 12;
  int num_attention_heads = 12;
  int mit_hidden_size = 512;
  int mit_intermediate_size = 2048;
  int mit_num_hidden_layers = 1;
  int mit_num_attention_heads = 8;
  int num_channels = 3;
  int image_size = 224;
  int patch_size = 32;
  int num_frames = 8;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  double drop_path_rate = 0.0;
};

// Field names and defaults of transformers' XCLIPConfig.
struct XCLIPConfig {
  XCLIPTextConfig text_config;
  XCLIPVisionConfig vision_config;
  int projection_dim = 512;
  int prompt_layers = 2;
  double prompt_alpha = 0.1;
  std::string prompt_hidden_act = "quick_gelu";
  int prompt_num_attention_heads = 8;
  double logit_scale_init_value = 2.6592;

  // Parses config.json text (transformers 4.x and 5.x layouts). `source` names the input
  // in error messages.
  static XCLIPConfig from_json(const std::string& json_text, const std::string& source);
  static XCLIPConfig from_file(const std::string& path);
};

// Ordered name -> tensor list; names follow transformers' output fields
// ("logits_per_video", "text_model_output/hidden_states/3", ...).
class NamedTensors {
 public:
  void add(std::string name, Tensor value);
  bool contains(const std::string& name) const;
  const Tensor& at(const std::string& name) const;  // throws InvalidArgument if absent
  const std::vector<std::pair<std::string, Tensor>>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<std::pair<std::string, Tensor>> items_;
};

struct ForwardInputs {
  Tensor input_ids;       // I64 [texts, length]
  Tensor attention_mask;  // I64 [texts, length], optional (undefined = no padding mask)
  Tensor pixel_values;    // F32 [videos, frames, channels, height, width]
};

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

  const Model& model() const { return *model_; }

 private:
  struct State;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<State> state_;
};

// An immutable loaded model; share it between sessions and threads.
class Model {
 public:
  // `path` is a model folder with config.json and model.safetensors (or a sharded
  // model.safetensors.index.json).
  static std::shared_ptr<const Model> load(const std::string& path, const LoadOptions& options = {});
  ~Model();

  const XCLIPConfig& config() const;
  const std::string& path() const;
  int num_threads() const;
  // What the linear layers run in: WeightType::F32, Int8 or Bf16 (Auto resolved).
  WeightType weights() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xclip
