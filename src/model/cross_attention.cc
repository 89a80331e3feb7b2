#include "model/cross_attention.h"

#include <cmath>

#include "ops/attention.h"
#include "ops/linear.h"

namespace xclip::model {

CrossAttention::CrossAttention(const WeightLoader& weights, const std::string& prefix, const XCLIPConfig& c)
    : dim_(c.projection_dim),
      heads_(c.prompt_num_attention_heads),
      q_proj_(weights, prefix + ".q_proj", c.projection_dim, c.projection_dim, false),
      kv_proj_(LinearWeights::stacked(weights, {prefix + ".k_proj", prefix + ".v_proj"}, c.projection_dim,
                                      c.projection_dim, false)),
      proj_(weights, prefix + ".proj", c.projection_dim, c.projection_dim, true) {}

void CrossAttention::keys_values(const float* kv, std::int64_t rows, float* out) const {
  kv_proj_.forward(kv, rows, dim_, out);  // [k | v] per row: one GEMM
}

void CrossAttention::attend_accumulate(const float* queries, std::int64_t batch, std::int64_t q_len,
                                       const float* keys_values, std::int64_t kv_len, float* residual, RunState& s,
                                       const std::string& path) const {
  ArenaScope scope(s.arena);
  const std::int64_t d = dim_;
  float* q = s.arena.alloc_floats(batch * q_len * d);
  q_proj_.forward(queries, batch * q_len, d, q);
  float* context = s.arena.alloc_floats(batch * q_len * d);
  const ops::AttentionShape shape{batch, q_len, kv_len, heads_, d / heads_};
  ops::attention(shape, q, d, keys_values, 2 * d, keys_values + d, 2 * d,
                 1.0f / std::sqrt(static_cast<float>(d / heads_)), ops::AttentionMask{}, context, nullptr);
  add_projection(proj_, context, batch * q_len, residual, s, path, {batch, q_len, d});
}

void CrossAttention::forward_accumulate(const float* queries, std::int64_t batch, std::int64_t q_len, const float* kv,
                                        std::int64_t kv_len, float* residual, RunState& s,
                                        const std::string& path) const {
  ArenaScope scope(s.arena);
  float* kvs = s.arena.alloc_floats(batch * kv_len * 2 * dim_);
  keys_values(kv, batch * kv_len, kvs);
  attend_accumulate(queries, batch, q_len, kvs, kv_len, residual, s, path);
}

}  // namespace xclip::model
