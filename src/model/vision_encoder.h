// XCLIPVisionEncoder: the stack of cross-frame encoder layers.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/x_clip/modular_x_clip.py
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/vision_encoder_layer.h"

namespace xclip::model {

class VisionEncoder {
 public:
  VisionEncoder(const WeightLoader& weights, const std::string& prefix, const XCLIPVisionConfig& config);

  // In place on x [videos·frames, tokens + 1, hidden] (see VisionEncoderLayer); records
  // vision_model_output/hidden_states/i and /attentions/i when asked.
  void forward(float* x, std::int64_t videos, std::int64_t frames, std::int64_t tokens, RunState& s) const;

 private:
  std::string prefix_;
  std::int64_t hidden_size_;
  std::vector<VisionEncoderLayer> layers_;
};

}  // namespace xclip::model
