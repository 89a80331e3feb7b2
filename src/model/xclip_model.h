// XCLIPModel: both towers, the MIT, the prompt generator and the contrastive head.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/x_clip/modular_x_clip.py
#pragma once

#include <string>

#include "model/multiframe_integration_transformer.h"
#include "model/prompt_generator.h"
#include "model/text_transformer.h"
#include "model/vision_transformer.h"

namespace xclip::model {

class XclipModel {
 public:
  XclipModel(const WeightLoader& weights, const XCLIPConfig& config);

  NamedTensors forward(const ForwardInputs& inputs, RunState& s) const;
  Tensor get_text_features(const Tensor& input_ids, const Tensor& attention_mask, RunState& s) const;
  Tensor get_video_features(const Tensor& pixel_values, bool interpolate_pos_encoding, RunState& s) const;
  // forward() for precomputed text features (get_text_features): logits_per_video,
  // logits_per_text, text_embeds, video_embeds. Lets a label set be encoded once.
  NamedTensors forward_with_text_features(const Tensor& pixel_values, const Tensor& text_features, RunState& s) const;
  // What the score needs from a video (Session::get_video_search_features), and the score
  // of texts against it: logits_per_video of forward() without the pixels.
  VideoSearchFeatures video_search_features(const Tensor& pixel_values, bool interpolate_pos_encoding,
                                            RunState& s) const;
  Tensor logits_from_video_features(const VideoSearchFeatures& video, const Tensor& text_features, RunState& s) const;

  const TextTransformer& text_model() const { return text_model_; }
  const VisionTransformer& vision_model() const { return vision_model_; }

 private:
  // visual_projection of the pooled frames, then the MIT.
  MitOutput video_embedding(const VisionOutput& vision, RunState& s) const;
  // prompts_visual_layernorm of the patch tokens, averaged over frames, · prompts_visual_projection
  // -> [videos, patches, projection_dim] in arena memory.
  float* prompt_image_features(const VisionOutput& vision, RunState& s) const;
  Tensor contrastive_loss(const Tensor& logits_per_text) const;
  // text_projection of the pooled text states: get_text_features.
  Tensor project_text(const TextOutput& text, RunState& s) const;
  void check_text_features(const Tensor& text_features) const;
  // text + prompts_generator(text, video) for every video and text, L2-normalised:
  // [videos, texts, projection_dim]. keys_values: PromptGenerator::visual_keys_values.
  Tensor video_conditioned_text(const Tensor& text_features, std::int64_t videos, const float* keys_values,
                                std::int64_t patches, RunState& s) const;
  // logit_scale.exp() · <video v, text_embeds[v, t]>: logits_per_video [videos, texts].
  Tensor scaled_similarity(const Tensor& normalized_video_embeds, const Tensor& text_embeds) const;
  // Video-conditioned text embeddings and logits (steps after the text projection).
  void head(const MitOutput& mit, const float* image_features, std::int64_t patches, const Tensor& text_features,
            RunState& s, NamedTensors& out) const;

  XCLIPConfig config_;
  TextTransformer text_model_;
  VisionTransformer vision_model_;
  LinearWeights visual_projection_;  // visual_projection.weight [projection_dim, vision hidden]
  LinearWeights text_projection_;    // text_projection.weight [projection_dim, text hidden]
  const float* logit_scale_;         // logit_scale [] (log of the temperature)
  LayerNormWeights prompts_visual_layernorm_;
  const float* prompts_visual_projection_;  // prompts_visual_projection [vision hidden, projection_dim]
  MultiframeIntegrationTransformer mit_;
  PromptGenerator prompts_generator_;
};

}  // namespace xclip::model
