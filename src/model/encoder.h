// XCLIPEncoder: a stack of XCLIPEncoderLayer (text tower and MIT).
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/x_clip/modular_x_clip.py
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/encoder_layer.h"

namespace xclip::model {

class Encoder {
 public:
  Encoder(const WeightLoader& weights, const std::string& prefix, const EncoderDims& dims, int num_layers);

  // In place on x [batch, len, hidden]. With a non-empty `output_prefix`, hidden states and
  // attentions are recorded as <output_prefix>/hidden_states/i and /attentions/i when asked.
  void forward(float* x, std::int64_t batch, std::int64_t len, const ops::AttentionMask& mask, RunState& s,
               const std::string& output_prefix) const;

 private:
  std::string prefix_;
  std::int64_t hidden_size_;
  std::vector<EncoderLayer> layers_;
};

}  // namespace xclip::model
