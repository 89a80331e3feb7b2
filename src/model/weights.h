// Weight holders shared by the modules: nn.LayerNorm and nn.Linear, requested from the
// WeightStore with their state-dict names and expected shapes.
#pragma once

#include <cstdint>
#include <string>

#include "model/weight_loader.h"
#include "model/run_state.h"
#include "ops/cpu/kernels.h"
#include "ops/bf16_linear.h"
#include "ops/quantized_linear.h"

namespace xclip::model {

struct LayerNormWeights {
  LayerNormWeights() = default;
  LayerNormWeights(const WeightLoader& weights, const std::string& prefix, std::int64_t dim, double eps);
  // y[rows, dim] = LN(x) (y may alias x)
  void apply(const float* x, std::int64_t rows, float* y) const;

  const float* weight = nullptr;  // <prefix>.weight [dim]
  const float* bias = nullptr;    // <prefix>.bias [dim]
  std::int64_t dim = 0;
  float eps = 1e-5f;
};

struct LinearWeights {
  LinearWeights() = default;
  // Quantized to int8 too when the loader runs linear layers in int8 and
  // `quantizable` (the small projections heads stay float32).
  LinearWeights(const WeightLoader& weights, const std::string& prefix, std::int64_t in, std::int64_t out, bool has_bias,
                bool quantizable = true);
  // Several linears over the same input as one (q/k/v): output rows of `prefixes` in order,
  // each [out, in] (with a bias [out] if `has_bias`). Int8 weights of a converted folder are
  // stacked as they are.
  static LinearWeights stacked(const WeightLoader& weights, const std::vector<std::string>& prefixes, std::int64_t in,
                               std::int64_t out, bool has_bias);

  // y[rows, out] = act(x · weightᵀ + bias), x rows `ldx` floats apart (int8 path when quantized).
  void forward(const float* x, std::int64_t rows, std::int64_t ldx, float* y,
               cpu::Activation act = cpu::Activation::Identity) const;
  // y[rows, out] += x · weightᵀ + bias (the residual add folded in).
  void forward_accumulate(const float* x, std::int64_t rows, float* y) const;

  const float* weight = nullptr;  // <prefix>.weight [out, in]; null when only int8 is kept
  const float* bias = nullptr;    // <prefix>.bias [out] or null
  std::int64_t in = 0;
  std::int64_t out = 0;
  std::shared_ptr<const ops::QuantizedMatrix> int8;  // set for reduced-precision inference
  std::shared_ptr<const ops::Bf16Weights> bf16;      // or this one (from `weight`)

 private:
  Tensor owned_weight_, owned_bias_;
};

// residual[rows, proj.out] += proj(x). When taps are on, the projection itself is first tapped
// as <path>/out with `tap_shape` (the residual add can then not be folded into the GEMM).
void add_projection(const LinearWeights& proj, const float* x, std::int64_t rows, float* residual, RunState& s,
                    const std::string& path, std::vector<std::int64_t> tap_shape);

// hidden_act / prompt_hidden_act name -> kernel activation (names validated by the config).
cpu::Activation activation_from_name(const std::string& name);

}  // namespace xclip::model
