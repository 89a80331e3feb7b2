#include "ops/quantized_linear.h"

#include <dnnl.h>

#include <algorithm>
#include <vector>

#include "core/check.h"
#include "core/parallel.h"

namespace xclip::ops {

QuantizedMatrix QuantizedMatrix::quantize(const float* W, std::int64_t rows, std::int64_t cols) {
  QuantizedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.values = Tensor::empty(DType::I8, {rows, cols});
  m.scales = Tensor::empty(DType::F32, {rows});
  std::int8_t* q = m.values.mutable_data<std::int8_t>();
  float* s = m.scales.mutable_data<float>();
  const cpu::CpuKernels& k = cpu::kernels();
  parallel_for(0, rows, 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) s[r] = k.f32_quantize_s8(W + r * cols, cols, q + r * cols);
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
  const cpu::CpuKernels& k = cpu::kernels();
  parallel_for(0, M, 8, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) rs[r] = k.f32_quantize_s8(x + r * ldx, K, q + r * K);
  });
  const std::int32_t zero = 0;
  const dnnl_status_t status =
      dnnl_gemm_s8s8s32('N', 'T', 'F', M, N, K, 1.0f, q, K, 0, W.values.data<std::int8_t>(), K, 0, 0.0f, c, N, &zero);
  XCLIP_CHECK(status == dnnl_success, Error) << "oneDNN int8 GEMM failed (status " << static_cast<int>(status) << ")";
  const float* ws = W.scales.data<float>();
  parallel_for(0, M, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(N, 1)),
               [&](std::int64_t lo, std::int64_t hi) {
                 for (std::int64_t r = lo; r < hi; ++r)
                   k.s32_dequantize_bias_act(c + r * N, rs[r], ws, bias, y + r * N, N, act, accumulate);
               });
}

}  // namespace xclip::ops
