// XCLIPAttention (CLIPAttention): multi-head self-attention with q/k/v/out projections.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/clip/modeling_clip.py
#pragma once

#include <cstdint>
#include <string>

#include "model/weight_loader.h"
#include "model/run_state.h"
#include "model/weights.h"
#include "ops/attention.h"

namespace xclip::model {

class Attention {
 public:
  Attention(const WeightLoader& weights, const std::string& prefix, std::int64_t hidden_size, std::int64_t num_heads);

  // residual[batch·len, hidden] += out_proj(attention(x)), x [batch, len, hidden] (already
  // layer-normed). Returns the attention weights [batch, heads, len, len] when
  // `return_weights` or a tap wants them, else an empty tensor. Taps: <path>/out, /weights.
  Tensor forward_accumulate(const float* x, std::int64_t batch, std::int64_t len, const ops::AttentionMask& mask,
                            float* residual, RunState& s, const std::string& path, bool return_weights) const;

 private:
  std::int64_t hidden_size_;
  std::int64_t num_heads_;
  // q_proj, k_proj, v_proj concatenated into one [3·hidden, hidden] matrix: one GEMM.
  LinearWeights qkv_;
  LinearWeights out_proj_;
};

}  // namespace xclip::model
