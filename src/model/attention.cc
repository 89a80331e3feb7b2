#include "model/attention.h"

#include <cmath>
#include <cstring>

#include "ops/linear.h"

namespace xclip::model {

Attention::Attention(const io::WeightStore& store, const std::string& prefix, std::int64_t hidden_size,
                     std::int64_t num_heads)
    : hidden_size_(hidden_size),
      num_heads_(num_heads),
      qkv_weight_(Tensor::empty(DType::F32, {3 * hidden_size, hidden_size})),
      qkv_bias_(Tensor::empty(DType::F32, {3 * hidden_size})),
      out_proj_(store, prefix + ".out_proj", hidden_size, hidden_size, true) {
  const char* parts[3] = {".q_proj", ".k_proj", ".v_proj"};
  const std::int64_t block = hidden_size * hidden_size;
  for (int i = 0; i < 3; ++i) {
    const LinearWeights p(store, prefix + parts[i], hidden_size, hidden_size, true);
    std::memcpy(qkv_weight_.mutable_data<float>() + i * block, p.weight, sizeof(float) * block);
    std::memcpy(qkv_bias_.mutable_data<float>() + i * hidden_size, p.bias, sizeof(float) * hidden_size);
  }
}

Tensor Attention::forward_accumulate(const float* x, std::int64_t batch, std::int64_t len, const ops::AttentionMask& mask,
                                     float* residual, RunState& s, const std::string& path, bool return_weights) const {
  ArenaScope scope(s.arena);
  const std::int64_t rows = batch * len;
  const std::int64_t d = hidden_size_;
  float* qkv = s.arena.alloc_floats(rows * 3 * d);
  ops::linear(x, rows, d, d, qkv_weight_.data<float>(), qkv_bias_.data<float>(), 3 * d, qkv);

  const bool need_weights = return_weights || s.tapping();
  Tensor weights;
  if (need_weights) weights = Tensor::empty(DType::F32, {batch, num_heads_, len, len});
  float* context = s.arena.alloc_floats(rows * d);
  const ops::AttentionShape shape{batch, len, len, num_heads_, d / num_heads_};
  const float scale = 1.0f / std::sqrt(static_cast<float>(d / num_heads_));
  ops::attention(shape, qkv, 3 * d, qkv + d, 3 * d, qkv + 2 * d, 3 * d, scale, mask, context,
                 need_weights ? weights.mutable_data<float>() : nullptr);

  if (s.tapping()) {
    float* projected = s.arena.alloc_floats(rows * d);
    ops::linear(context, rows, d, d, out_proj_.weight, out_proj_.bias, d, projected);
    s.tap(path, "out", projected, {batch, len, d});
    s.tap(path, "weights", weights);
    for (std::int64_t i = 0; i < rows * d; ++i) residual[i] += projected[i];
  } else {
    ops::linear_accumulate(context, rows, d, out_proj_.weight, out_proj_.bias, d, residual);
  }
  return weights;
}

}  // namespace xclip::model
