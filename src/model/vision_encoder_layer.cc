#include "model/vision_encoder_layer.h"

#include <cstring>

#include "ops/linear.h"

namespace xclip::model {

VisionEncoderLayer::VisionEncoderLayer(const WeightLoader& weights, const std::string& prefix,
                                       const XCLIPVisionConfig& c)
    : hidden_size_(c.hidden_size),
      message_fc_(weights, prefix + ".message_fc", c.hidden_size, c.hidden_size, true),
      message_ln_(weights, prefix + ".message_ln", c.hidden_size, c.layer_norm_eps),
      message_attn_(weights, prefix + ".message_attn", c.hidden_size, c.num_attention_heads),
      layer_norm1_(weights, prefix + ".layer_norm1", c.hidden_size, c.layer_norm_eps),
      self_attn_(weights, prefix + ".self_attn", c.hidden_size, c.num_attention_heads),
      layer_norm2_(weights, prefix + ".layer_norm2", c.hidden_size, c.layer_norm_eps),
      mlp_(weights, prefix + ".mlp", c.hidden_size, c.intermediate_size, c.hidden_act) {}

Tensor VisionEncoderLayer::forward(float* x, std::int64_t videos, std::int64_t frames, std::int64_t tokens, RunState& s,
                                   const std::string& path, bool return_weights) const {
  ArenaScope scope(s.arena);
  const std::int64_t d = hidden_size_;
  const std::int64_t images = videos * frames;
  const std::int64_t stride = tokens + 1;  // rows per frame, message slot included
  if (s.tapping()) s.tap(path, "in0", RunState::copy_rows(x, images, tokens, stride, d, {images, tokens, d}));

  // Message tokens from the class tokens (row 0 of every frame, read with a row stride).
  float* message = s.arena.alloc_floats(images * d);
  message_fc_.forward(x, images, stride * d, message);
  s.tap(path + ".message_fc", "out", message, {images, d});
  float* normed = s.arena.alloc_floats(images * stride * d);
  message_ln_.apply(message, images, normed);
  s.tap(path + ".message_ln", "out", normed, {videos, frames, d});
  message_attn_.forward_accumulate(normed, videos, frames, ops::AttentionMask{}, message, s, path + ".message_attn", false);
  for (std::int64_t f = 0; f < images; ++f) std::memcpy(x + (f * stride + tokens) * d, message + f * d, sizeof(float) * d);

  const std::int64_t rows = images * stride;
  layer_norm1_.apply(x, rows, normed);
  Tensor weights =
      self_attn_.forward_accumulate(normed, images, stride, ops::AttentionMask{}, x, s, path + ".self_attn", return_weights);
  // The MLP also runs on the message rows: cheaper than compacting, and those rows are
  // overwritten by the next layer's message token and never reported.
  layer_norm2_.apply(x, rows, normed);
  mlp_.forward_accumulate(normed, rows, x, s);
  if (s.tapping()) s.tap(path, "out", RunState::copy_rows(x, images, tokens, stride, d, {images, tokens, d}));
  return weights;
}

}  // namespace xclip::model
