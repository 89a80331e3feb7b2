// nn.Linear-shaped products with fused epilogues.
#pragma once

#include <cstdint>

#include "ops/cpu/kernels.h"

namespace xclip::ops {

// Products of kFewRowsMin to kFewRows rows run on cpu::CpuKernels::f32_few_rows_linear, W
// read where it lies, instead of the GEMM library, which copies W into its own layout on
// every call. Medians of alternating calls on a 2-core Xeon (base-patch32's shapes): 0.8–2.5×
// as fast from 4 to 32 rows (below 1× in 3 of 80 shape and row-count pairs), 0.86–1.3× at
// 39–48, slower above; at 2–3 rows oneDNN's sgemm is 1.03–1.4× faster, and at 1 row both run
// at the memory's speed.
constexpr std::int64_t kFewRowsMin = 4;
constexpr std::int64_t kFewRows = 32;

// y[M, N] = act(x[M, K] · Wᵀ + bias), W stored [N, K]; bias may be null. x rows are `ldx`
// floats apart (ldx >= K), y rows N apart.
void linear(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const float* W, const float* bias,
            std::int64_t N, float* y, cpu::Activation act = cpu::Activation::Identity);

// y[M, N] = act(y + bias) row by row, in parallel (bias may be null; nothing to do when it is
// null and act is Identity): the epilogue of products whose GEMM could not fuse it.
void bias_act_rows(float* y, const float* bias, std::int64_t M, std::int64_t N, cpu::Activation act);

// y[M, N] += x[M, K] · Wᵀ + bias: the residual add is folded into the GEMM (beta = 1).
void linear_accumulate(const float* x, std::int64_t M, std::int64_t K, const float* W, const float* bias, std::int64_t N,
                       float* y);

// y[M, N] = x[M, K] · B[K, N] (a raw parameter used as `x @ B`).
void matmul(const float* x, std::int64_t M, std::int64_t K, const float* B, std::int64_t N, float* y);

}  // namespace xclip::ops
