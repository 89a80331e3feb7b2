#include "ops/linear.h"

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

void linear(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const float* W, const float* bias,
            std::int64_t N, float* y, cpu::Activation act) {
  gemm_f32(true, M, N, K, x, ldx, W, K, 0.0f, y, N);
  bias_act_rows(y, bias, M, N, act);
}

void linear_accumulate(const float* x, std::int64_t M, std::int64_t K, const float* W, const float* bias, std::int64_t N,
                       float* y) {
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
