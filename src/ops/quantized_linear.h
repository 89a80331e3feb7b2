// int8 matrix products for reduced-precision inference: weights quantized once per output
// channel (symmetric int8), activations per row on the fly, int32 accumulation through
// oneDNN (VNNI where the CPU has it), float32 rescale + bias + activation after.
#pragma once

#include <cstdint>
#include <memory>

#include "ops/cpu/kernels.h"
#include "xclip/tensor.h"

namespace xclip::ops {

// The int8 weights reordered into the blocked layout of oneDNN's matmul primitive (with its
// s8·s8 compensation) and that primitive per row count, both built on first use.
struct PackedInt8Weights;

struct QuantizedMatrix {
  Tensor values;  // I8 [rows, cols]
  Tensor scales;  // F32 [rows]: W[r, c] ≈ values[r, c] · scales[r]
  std::int64_t rows = 0, cols = 0;
  // Set by pack(): products then skip re-packing the weights on every call (the GEMM API does;
  // ~5–15 % faster for a video's 408 rows).
  std::shared_ptr<const PackedInt8Weights> packed;

  // W is [rows, cols] row-major (the nn.Linear layout).
  static QuantizedMatrix quantize(const float* W, std::int64_t rows, std::int64_t cols);
  // Products use oneDNN's matmul primitive on weights reordered for it at the first product
  // (not here: keeps loading fast); the GEMM API where oneDNN has no optimised int8 matmul.
  void pack();
};

// Whether products of M rows with W run on the packed matmul primitive (packs W if needed).
bool uses_packed_matmul(const QuantizedMatrix& W, std::int64_t M);

// y[M, N] = act(x[M, K] · Wᵀ + bias), or y += x · Wᵀ + bias when `accumulate` (then act must
// be Identity). x rows are `ldx` floats apart.
void linear_q8(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const QuantizedMatrix& W,
               const float* bias, float* y, cpu::Activation act, bool accumulate);

}  // namespace xclip::ops
