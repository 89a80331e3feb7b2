// XCLIPMultiframeIntegrationTransformer (MIT): frame embeddings + position embedding through
// an XCLIPEncoder, plus a residual, averaged over frames into the video embedding.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/x_clip/modular_x_clip.py
#pragma once

#include <cstdint>
#include <string>

#include "model/encoder.h"

namespace xclip::model {

struct MitOutput {
  Tensor last_hidden_state;  // [videos, frames, mit_hidden]
  Tensor pooler_output;      // [videos, mit_hidden]
};

class MultiframeIntegrationTransformer {
 public:
  MultiframeIntegrationTransformer(const WeightLoader& weights, const std::string& prefix,
                                   const XCLIPVisionConfig& config);

  // cls_features [videos, frames, mit_hidden]. `frames` other than the config's num_frames
  // need s.options.interpolate_frames (checked by the vision tower first).
  MitOutput forward(const float* cls_features, std::int64_t videos, std::int64_t frames, RunState& s) const;

 private:
  std::int64_t frames_, hidden_size_;
  const float* position_embedding_;  // position_embedding [1, num_frames, mit_hidden]
  Encoder encoder_;
};

}  // namespace xclip::model
