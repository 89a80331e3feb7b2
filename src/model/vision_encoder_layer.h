// XCLIPVisionEncoderLayer (CrossFramelAttentionBlock of the paper): a message token per frame
// from its class token (message_fc, message_ln, message_attn across the frames of a video)
// joins the frame's tokens for self-attention and is dropped before the MLP.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/x_clip/modular_x_clip.py
#pragma once

#include <cstdint>
#include <string>

#include "model/attention.h"
#include "model/encoder_layer.h"
#include "model/mlp.h"
#include "model/weights.h"

namespace xclip::model {

class VisionEncoderLayer {
 public:
  VisionEncoderLayer(const WeightLoader& weights, const std::string& prefix, const XCLIPVisionConfig& config);

  // x: [videos·frames, tokens + 1, hidden]; the last row of each frame is the message slot.
  // Updates the first `tokens` rows of each frame in place. Returns self-attention weights
  // [videos·frames, heads, tokens + 1, tokens + 1] when asked.
  Tensor forward(float* x, std::int64_t videos, std::int64_t frames, std::int64_t tokens, RunState& s,
                 const std::string& path, bool return_weights) const;

 private:
  std::int64_t hidden_size_;
  LinearWeights message_fc_;
  LayerNormWeights message_ln_;
  Attention message_attn_;
  LayerNormWeights layer_norm1_;
  Attention self_attn_;
  LayerNormWeights layer_norm2_;
  Mlp mlp_;
};

}  // namespace xclip::model
