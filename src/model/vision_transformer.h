// XCLIPVisionTransformer (the body of XCLIPVisionModel): embeddings, pre_layernorm,
// cross-frame encoder, post_layernorm of the class token.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/x_clip/modular_x_clip.py
#pragma once

#include <cstdint>
#include <string>

#include "model/vision_embeddings.h"
#include "model/vision_encoder.h"

namespace xclip::model {

struct VisionOutput {
  // Arena memory, valid until the caller's scope ends: [videos·frames, tokens + 1, hidden]
  // (last row of each frame is the message slot).
  float* hidden = nullptr;
  std::int64_t videos = 0, frames = 0, tokens = 0;
  Tensor pooler_output;  // [videos·frames, hidden]
};

class VisionTransformer {
 public:
  VisionTransformer(const WeightLoader& weights, const std::string& prefix, const XCLIPVisionConfig& config);

  // pixel_values F32 [videos, frames, channels, height, width]. Throws InvalidArgument when
  // the shape does not fit the config. Allocates the returned hidden states from s.arena.
  VisionOutput forward(const Tensor& pixel_values, bool interpolate_pos_encoding, RunState& s) const;

  // [videos·frames, tokens, hidden] copy of the last hidden state.
  Tensor last_hidden_state(const VisionOutput& out) const;

 private:
  void validate(const Tensor& pixel_values, bool interpolate_pos_encoding, bool interpolate_frames) const;

  XCLIPVisionConfig config_;
  VisionEmbeddings embeddings_;
  LayerNormWeights pre_layernorm_;
  VisionEncoder encoder_;
  LayerNormWeights post_layernorm_;
};

}  // namespace xclip::model
