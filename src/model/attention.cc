#include "model/attention.h"

#include <cmath>
#include <cstring>

#include "ops/linear.h"

namespace xclip::model {

Attention::Attention(const WeightLoader& weights, const std::string& prefix, std::int64_t hidden_size,
                     std::int64_t num_heads)
    : hidden_size_(hidden_size),
      num_heads_(num_heads),
      qkv_(LinearWeights::stacked(weights, {prefix + ".q_proj", prefix + ".k_proj", prefix + ".v_proj"}, hidden_size,
                                  hidden_size, true)),
      out_proj_(weights, prefix + ".out_proj", hidden_size, hidden_size, true) {}

Tensor Attention::forward_accumulate(const float* x, std::int64_t batch, std::int64_t len, const ops::AttentionMask& mask,
                                     float* residual, RunState& s, const std::string& path, bool return_weights) const {
  ArenaScope scope(s.arena);
  const std::int64_t rows = batch * len;
  const std::int64_t d = hidden_size_;
  float* qkv = s.arena.alloc_floats(rows * 3 * d);
  qkv_.forward(x, rows, d, qkv);

  const bool need_weights = return_weights || s.tapping();
  Tensor weights;
  if (need_weights) weights = Tensor::empty(DType::F32, {batch, num_heads_, len, len});
  float* context = s.arena.alloc_floats(rows * d);
  const ops::AttentionShape shape{batch, len, len, num_heads_, d / num_heads_};
  const float scale = 1.0f / std::sqrt(static_cast<float>(d / num_heads_));
  ops::attention(shape, qkv, 3 * d, qkv + d, 3 * d, qkv + 2 * d, 3 * d, scale, mask, context,
                 need_weights ? weights.mutable_data<float>() : nullptr);

  add_projection(out_proj_, context, rows, residual, s, path, {batch, len, d});
  s.tap(path, "weights", weights);
  return weights;
}

}  // namespace xclip::model
