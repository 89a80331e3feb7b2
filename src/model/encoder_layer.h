// XCLIPEncoderLayer: pre-norm transformer block, x += attn(LN1(x)); x += mlp(LN2(x)).
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/x_clip/modular_x_clip.py
#pragma once

#include <cstdint>
#include <string>

#include "model/weight_loader.h"
#include "model/attention.h"
#include "model/mlp.h"
#include "model/run_state.h"
#include "model/weights.h"

namespace xclip::model {

struct EncoderDims {
  std::int64_t hidden_size;
  std::int64_t intermediate_size;
  std::int64_t num_attention_heads;
  std::string hidden_act;
  double layer_norm_eps;
};

class EncoderLayer {
 public:
  EncoderLayer(const WeightLoader& weights, const std::string& prefix, const EncoderDims& dims);

  // In place on x [batch, len, hidden]. Returns the attention weights if asked (see Attention).
  Tensor forward(float* x, std::int64_t batch, std::int64_t len, const ops::AttentionMask& mask, RunState& s,
                 const std::string& path, bool return_weights) const;

 private:
  LayerNormWeights layer_norm1_;
  Attention self_attn_;
  LayerNormWeights layer_norm2_;
  Mlp mlp_;
};

}  // namespace xclip::model
