// bfloat16 matrix products for reduced-precision inference on CPUs with AVX512-BF16:
// weights converted once into oneDNN's blocked bf16 layout, activations rounded to bf16 per
// call, float32 accumulation and output, with bias, activation or residual add fused into
// oneDNN's matmul primitive.
#pragma once

#include <cstdint>
#include <memory>

#include "ops/cpu/kernels.h"

namespace xclip::ops {

struct Bf16Weights;

// True when this CPU has the AVX512-BF16 dot-product instructions.
bool bf16_supported();

// W [rows, cols] row-major (nn.Linear layout). W must outlive the result: it is converted on
// the first product (keeps loading fast), not here.
std::shared_ptr<const Bf16Weights> prepare_bf16(const float* W, std::int64_t rows, std::int64_t cols);

// y[M, N] = act(x[M, K] · Wᵀ + bias), or y += x · Wᵀ + bias when `accumulate` (act must be
// Identity). x rows are `ldx` floats apart.
void linear_bf16(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const Bf16Weights& W,
                 const float* bias, float* y, cpu::Activation act, bool accumulate);

}  // namespace xclip::ops
