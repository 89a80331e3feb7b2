// GEMM through oneDNN's JIT sgemm: it picks AVX2 / AVX-512 kernels from CPUID itself, so it
// is not pinned to old kernels by OPENBLAS_CORETYPE, and it threads on the same OpenMP team
// as the rest of the library.
#include <dnnl.h>

#include <mutex>
#include <vector>

#include "core/check.h"
#include "ops/gemm.h"

namespace xclip::ops {

void gemm_f32(bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
              const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  const dnnl_status_t status =
      dnnl_sgemm('N', trans_b ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  XCLIP_CHECK(status == dnnl_success, Error)
      << "oneDNN sgemm failed (status " << static_cast<int>(status) << ") for M=" << M << " N=" << N << " K=" << K;
}

void warm_up_gemm() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Large enough for the JIT kernels (small products take other paths); both layouts of B
    // and both betas, as the model uses them.
    const std::int64_t n = 256;
    std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n, 0.0f);
    for (const bool trans_b : {true, false})
      for (const float beta : {0.0f, 1.0f}) gemm_f32(trans_b, n, n, n, a.data(), n, b.data(), n, beta, c.data(), n);
  });
}

const char* gemm_backend() { return "onednn"; }

}  // namespace xclip::ops
