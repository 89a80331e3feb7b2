// XCLIPMLP (CLIPMLP): fc1, activation, fc2.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/clip/modeling_clip.py
#pragma once

#include <cstdint>
#include <string>

#include "model/weight_loader.h"
#include "model/run_state.h"
#include "model/weights.h"

namespace xclip::model {

class Mlp {
 public:
  Mlp(const WeightLoader& weights, const std::string& prefix, std::int64_t hidden_size, std::int64_t intermediate_size,
      const std::string& hidden_act);

  // residual[rows, hidden] += fc2(act(fc1(x))), x [rows, hidden].
  void forward_accumulate(const float* x, std::int64_t rows, float* residual, RunState& s) const;

 private:
  // Rows per fc1 → fc2 pass: all of them in float32, cache-sized blocks in int8 and bf16.
  std::int64_t rows_per_pass(std::int64_t rows) const;

  LinearWeights fc1_;
  LinearWeights fc2_;
  cpu::Activation act_;
};

}  // namespace xclip::model
