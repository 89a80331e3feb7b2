// PromptGeneratorLayer: x += cross_attn(norm1(x), visual); x += mlp(norm3(x)), the MLP being
// Sequential(Linear(dim, 4·dim), act, Dropout, Linear(4·dim, dim)) = mlp.0 and mlp.3.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/x_clip/modular_x_clip.py
#pragma once

#include <cstdint>
#include <string>

#include "model/cross_attention.h"

namespace xclip::model {

class PromptGeneratorLayer {
 public:
  PromptGeneratorLayer(const WeightLoader& weights, const std::string& prefix, const XCLIPConfig& config);

  // In place on x [batch, texts, dim]; visual [batch, patches, dim] (already normed).
  void forward(float* x, std::int64_t batch, std::int64_t texts, const float* visual, std::int64_t patches, RunState& s,
               const std::string& path) const;

  // forward() in two halves: the keys and values of the (normed) visual features
  // [batch·patches, 2·dim], computed once per video, and the text side against them.
  void keys_values(const float* visual, std::int64_t rows, float* out) const { cross_attn_.keys_values(visual, rows, out); }
  void forward_with_keys_values(float* x, std::int64_t batch, std::int64_t texts, const float* keys_values,
                                std::int64_t patches, RunState& s, const std::string& path) const;

 private:
  std::int64_t dim_;
  CrossAttention cross_attn_;
  LayerNormWeights norm1_, norm3_;
  LinearWeights mlp_fc1_;  // mlp.0
  LinearWeights mlp_fc2_;  // mlp.3
  cpu::Activation act_;
};

}  // namespace xclip::model
