#include "ops/linear.h"

#include <algorithm>

#include "core/parallel.h"
#include "ops/gemm.h"

namespace xclip::ops {

void bias_act_rows(float* y, const float* bias, std::int64_t M, std::int64_t N, cpu::Activation act) {
  if (bias == nullptr && act == cpu::Activation::Identity) return;
  const cpu::CpuKernels& k = cpu::kernels();
  parallel_for(0, M, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(N, 1)), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) k.f32_bias_act(y + r * N, bias, N, act);
  });
}

namespace {

// The product of a few rows on the kernel that reads W in place, columns of y (rows of W)
// split among the threads in multiples of 4, each slice finished with its bias and
// activation (or bias add) while it is in cache.
void few_rows_linear(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const float* W,
                     const float* bias, std::int64_t N, float* y, cpu::Activation act, bool accumulate) {
  const cpu::CpuKernels& k = cpu::kernels();
  const std::int64_t quads = (N + 3) / 4;
  parallel_for(0, quads, 8, [&](std::int64_t lo_quad, std::int64_t hi_quad) {
    const std::int64_t lo = lo_quad * 4, n = std::min(N, hi_quad * 4) - lo;
    k.f32_few_rows_linear(x, M, ldx, W + lo * K, n, K, K, y + lo, N, accumulate);
    const float* b = bias ? bias + lo : nullptr;
    for (std::int64_t r = 0; r < M; ++r) {
      if (accumulate) {
        if (b) k.f32_add(b, y + r * N + lo, n);
      } else {
        k.f32_bias_act(y + r * N + lo, b, n, act);
      }
    }
  });
}

}  // namespace

void linear(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const float* W, const float* bias,
            std::int64_t N, float* y, cpu::Activation act) {
  if (M >= kFewRowsMin && M <= kFewRows) return few_rows_linear(x, M, K, ldx, W, bias, N, y, act, false);
  gemm_f32(true, M, N, K, x, ldx, W, K, 0.0f, y, N);
  bias_act_rows(y, bias, M, N, act);
}

void linear_accumulate(const float* x, std::int64_t M, std::int64_t K, const float* W, const float* bias, std::int64_t N,
                       float* y) {
  if (M >= kFewRowsMin && M <= kFewRows)
    return few_rows_linear(x, M, K, K, W, bias, N, y, cpu::Activation::Identity, true);
  gemm_f32(true, M, N, K, x, K, W, K, 1.0f, y, N);
  if (bias == nullptr) return;
  const cpu::CpuKernels& k = cpu::kernels();
  parallel_for(0, M, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(N, 1)), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) k.f32_add(bias, y + r * N, N);
  });
}

void matmul(const float* x, std::int64_t M, std::int64_t K, const float* B, std::int64_t N, float* y) {
  gemm_f32(false, M, N, K, x, K, B, N, 0.0f, y, N);
}

}  // namespace xclip::ops
