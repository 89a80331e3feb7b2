// int8 matrix products for reduced-precision inference: weights quantized once per output
// channel (symmetric int8), activations per row on the fly, int32 accumulation through
// oneDNN's s8 GEMM (VNNI where the CPU has it), float32 rescale + bias + activation after.
#pragma once

#include <cstdint>

#include "ops/cpu/kernels.h"
#include "xclip/tensor.h"

namespace xclip::ops {

struct QuantizedMatrix {
  Tensor values;  // I8 [rows, cols]
  Tensor scales;  // F32 [rows]: W[r, c] ≈ values[r, c] · scales[r]
  std::int64_t rows = 0, cols = 0;

  // W is [rows, cols] row-major (the nn.Linear layout).
  static QuantizedMatrix quantize(const float* W, std::int64_t rows, std::int64_t cols);
};

// y[M, N] = act(x[M, K] · Wᵀ + bias), or y += x · Wᵀ + bias when `accumulate` (then act must
// be Identity). x rows are `ldx` floats apart.
void linear_q8(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const QuantizedMatrix& W,
               const float* bias, float* y, cpu::Activation act, bool accumulate);

}  // namespace xclip::ops
