// XCLIPCrossAttention: text queries attend to video patch features; q/k/v without bias,
// output projection `proj` with bias.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/x_clip/modular_x_clip.py
#pragma once

#include <cstdint>
#include <string>

#include "model/run_state.h"
#include "model/weights.h"
#include "xclip/config.h"

namespace xclip::model {

class CrossAttention {
 public:
  CrossAttention(const WeightLoader& weights, const std::string& prefix, const XCLIPConfig& config);

  // residual[batch·q_len, dim] += proj(attention(q_proj(queries), k_proj(kv), v_proj(kv))).
  // queries [batch, q_len, dim], kv [batch, kv_len, dim]. Tap: <path>/out.
  void forward_accumulate(const float* queries, std::int64_t batch, std::int64_t q_len, const float* kv,
                          std::int64_t kv_len, float* residual, RunState& s, const std::string& path) const;

  // The two halves of forward_accumulate, so that the keys and values of a video can be
  // computed once and stored (a search index scores many texts against them later).
  // keys_values: [rows, 2·dim] = [k_proj(kv) | v_proj(kv)] per row of kv [rows, dim].
  void keys_values(const float* kv, std::int64_t rows, float* out) const;
  // forward_accumulate from keys_values() output [batch, kv_len, 2·dim].
  void attend_accumulate(const float* queries, std::int64_t batch, std::int64_t q_len, const float* keys_values,
                         std::int64_t kv_len, float* residual, RunState& s, const std::string& path) const;

 private:
  std::int64_t dim_, heads_;
  LinearWeights q_proj_, kv_proj_, proj_;
};

}  // namespace xclip::model
