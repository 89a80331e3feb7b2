#include "ops/quantized_linear.h"

#include <dnnl.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/check.h"
#include "core/parallel.h"

namespace xclip::ops {

namespace {

// Symmetric int8 of one row: q = round(v / s), s = max|v| / 127 (1 for an all-zero row).
float quantize_row(const float* v, std::int64_t n, std::int8_t* q) {
  float amax = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(v[i]));
  const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
  const float inv = 1.0f / scale;
  for (std::int64_t i = 0; i < n; ++i) q[i] = static_cast<std::int8_t>(std::lrintf(std::clamp(v[i] * inv, -127.0f, 127.0f)));
  return scale;
}

}  // namespace

QuantizedMatrix QuantizedMatrix::quantize(const float* W, std::int64_t rows, std::int64_t cols) {
  QuantizedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.values = Tensor::empty(DType::I8, {rows, cols});
  m.scales = Tensor::empty(DType::F32, {rows});
  std::int8_t* q = m.values.mutable_data<std::int8_t>();
  float* s = m.scales.mutable_data<float>();
  parallel_for(0, rows, 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) s[r] = quantize_row(W + r * cols, cols, q + r * cols);
  });
  return m;
}

void linear_q8(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const QuantizedMatrix& W,
               const float* bias, float* y, cpu::Activation act, bool accumulate) {
  XCLIP_DCHECK(K == W.cols);
  const std::int64_t N = W.rows;
  if (M == 0) return;
  // Scratch per calling thread, grown once (no allocation per layer once warm).
  thread_local std::vector<std::int8_t> xq;
  thread_local std::vector<float> row_scale;
  thread_local std::vector<std::int32_t> acc;
  xq.resize(static_cast<std::size_t>(M * K));
  row_scale.resize(static_cast<std::size_t>(M));
  acc.resize(static_cast<std::size_t>(M * N));
  std::int8_t* q = xq.data();
  float* rs = row_scale.data();
  std::int32_t* c = acc.data();
  parallel_for(0, M, 8, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) rs[r] = quantize_row(x + r * ldx, K, q + r * K);
  });
  const std::int32_t zero = 0;
  const dnnl_status_t status = dnnl_gemm_s8s8s32('N', 'T', 'F', M, N, K, 1.0f, q, K, 0, W.values.data<std::int8_t>(), K, 0,
                                                 0.0f, c, N, &zero);
  XCLIP_CHECK(status == dnnl_success, Error) << "oneDNN int8 GEMM failed (status " << static_cast<int>(status) << ")";
  const float* ws = W.scales.data<float>();
  const cpu::CpuKernels& k = cpu::kernels();
  parallel_for(0, M, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(N, 1)), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      float* out = y + r * N;
      const std::int32_t* in = c + r * N;
      const float s = rs[r];
      if (accumulate) {
        for (std::int64_t n = 0; n < N; ++n) out[n] += static_cast<float>(in[n]) * s * ws[n] + (bias ? bias[n] : 0.0f);
      } else {
        for (std::int64_t n = 0; n < N; ++n) out[n] = static_cast<float>(in[n]) * s * ws[n];
        k.f32_bias_act(out, bias, N, act);
      }
    }
  });
}

}  // namespace xclip::ops
