// bfloat16 matrix products for reduced-precision inference on CPUs with AVX512-BF16:
// weights converted once to bf16 (AMX tile layout where the CPU has AMX and the shape fits
// its tiles, oneDNN's blocked layout otherwise), activations rounded to bf16
// per call, float32 accumulation and output, with bias, activation or residual add applied
// to each block as it is finished (tiles) or fused into oneDNN's matmul primitive.
#pragma once

#include <cstdint>
#include <memory>

#include "ops/cpu/kernels.h"

namespace xclip::ops {

struct Bf16Weights;

// True when this CPU has the AVX512-BF16 dot-product instructions.
bool bf16_supported();

// W [rows, cols] row-major (nn.Linear layout). W must outlive the result: it is converted
// here into the AMX tile layout where the CPU has AMX, else for oneDNN on the first product
// (its reorder is slow; keeps loading fast).
std::shared_ptr<const Bf16Weights> prepare_bf16(const float* W, std::int64_t rows, std::int64_t cols);

// y[M, N] = act(x[M, K] · Wᵀ + bias), or y += x · Wᵀ + bias when `accumulate` (act must be
// Identity). x rows are `ldx` floats apart.
void linear_bf16(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const Bf16Weights& W,
                 const float* bias, float* y, cpu::Activation act, bool accumulate);

}  // namespace xclip::ops
