// XCLIPVisionEmbeddings (CLIPVisionEmbeddings): class token, patch embedding (a conv with
// kernel = stride = patch_size, computed as one matrix product), position embeddings,
// optionally resized bicubically (interpolate_pos_encoding).
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/clip/modeling_clip.py
#pragma once

#include <cstdint>
#include <string>

#include "model/weight_loader.h"
#include "model/run_state.h"
#include "model/weights.h"
#include "xclip/config.h"

namespace xclip::model {

class VisionEmbeddings {
 public:
  VisionEmbeddings(const WeightLoader& weights, const std::string& prefix, const XCLIPVisionConfig& config);

  // pixels [images, channels, height, width] -> out rows [images, stride_tokens, hidden]:
  // token 0 = class, tokens 1..P = patches (row-major grid); rows past P+1 are untouched.
  void forward(const float* pixels, std::int64_t images, std::int64_t height, std::int64_t width,
               bool interpolate_pos_encoding, float* out, std::int64_t stride_tokens, RunState& s) const;

  std::int64_t patch_size() const { return patch_size_; }

 private:
  // Position rows for a grid_h x grid_w patch grid, [1 + grid_h·grid_w, hidden].
  const float* positions_for(std::int64_t grid_h, std::int64_t grid_w, bool interpolate, RunState& s) const;

  std::int64_t hidden_size_, num_channels_, patch_size_, num_positions_;
  const float* class_embedding_;     // class_embedding [hidden]
  const float* position_embedding_;  // position_embedding.weight [num_positions, hidden]
  // patch_embedding.weight [hidden, channels, patch, patch] as a linear layer without bias
  // over channels·patch·patch inputs; bf16 in int8 and bf16 inference where the CPU has
  // AVX512-BF16, float32 otherwise.
  LinearWeights patch_embedding_;
};

}  // namespace xclip::model
