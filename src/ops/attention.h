// Multi-head scaled dot-product attention, eager semantics of transformers: scores are
// q·kᵀ·scale plus an additive mask of float's lowest value at masked keys, softmax in
// float32, then the weighted sum of values. Masked scores never reach memory unless the
// caller asks for the attention weights.
#pragma once

#include <cstdint>

namespace xclip::ops {

struct AttentionShape {
  std::int64_t batch = 0;
  std::int64_t q_len = 0;
  std::int64_t kv_len = 0;
  std::int64_t heads = 0;
  std::int64_t head_dim = 0;
};

struct AttentionMask {
  bool causal = false;                    // key j > query i is masked
  const std::int64_t* key_padding = nullptr;  // [batch, kv_len], 0 = masked; null = none
};

// q: [batch, q_len, heads·head_dim], row stride ldq; k, v: [batch, kv_len, ...] with
// strides ldk, ldv; out: [batch, q_len, heads·head_dim] contiguous. weights (optional):
// [batch, heads, q_len, kv_len].
void attention(const AttentionShape& shape, const float* q, std::int64_t ldq, const float* k, std::int64_t ldk,
               const float* v, std::int64_t ldv, float scale, const AttentionMask& mask, float* out, float* weights);

}  // namespace xclip::ops
