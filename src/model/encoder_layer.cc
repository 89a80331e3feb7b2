#include "model/encoder_layer.h"

#include <limits>

namespace xclip::model {

namespace {

// The mask as transformers passes it to the layer: [batch, 1, len, len], 0 where a key is
// visible, float's lowest value where it is masked.
Tensor additive_mask(const ops::AttentionMask& mask, std::int64_t batch, std::int64_t len) {
  Tensor t = Tensor::empty(DType::F32, {batch, 1, len, len});
  float* m = t.mutable_data<float>();
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < len; ++i)
      for (std::int64_t j = 0; j < len; ++j) {
        const bool masked = (mask.causal && j > i) || (mask.key_padding && mask.key_padding[b * len + j] == 0);
        m[(b * len + i) * len + j] = masked ? std::numeric_limits<float>::lowest() : 0.0f;
      }
  return t;
}

}  // namespace

EncoderLayer::EncoderLayer(const WeightLoader& weights, const std::string& prefix, const EncoderDims& dims)
    : layer_norm1_(weights, prefix + ".layer_norm1", dims.hidden_size, dims.layer_norm_eps),
      self_attn_(weights, prefix + ".self_attn", dims.hidden_size, dims.num_attention_heads),
      layer_norm2_(weights, prefix + ".layer_norm2", dims.hidden_size, dims.layer_norm_eps),
      mlp_(weights, prefix + ".mlp", dims.hidden_size, dims.intermediate_size, dims.hidden_act) {}

Tensor EncoderLayer::forward(float* x, std::int64_t batch, std::int64_t len, const ops::AttentionMask& mask, RunState& s,
                             const std::string& path, bool return_weights) const {
  ArenaScope scope(s.arena);
  const std::int64_t d = layer_norm1_.dim;
  const std::int64_t rows = batch * len;
  s.tap(path, "in0", x, {batch, len, d});
  if (s.tapping() && (mask.causal || mask.key_padding)) s.tap(path, "in1", additive_mask(mask, batch, len));
  float* normed = s.arena.alloc_floats(rows * d);
  layer_norm1_.apply(x, rows, normed);
  Tensor weights = self_attn_.forward_accumulate(normed, batch, len, mask, x, s, path + ".self_attn", return_weights);
  layer_norm2_.apply(x, rows, normed);
  mlp_.forward_accumulate(normed, rows, x, s);
  s.tap(path, "out", x, {batch, len, d});
  return weights;
}

}  // namespace xclip::model
