// GEMM through oneDNN's JIT sgemm: it picks AVX2 / AVX-512 kernels from CPUID itself, so it
// is not pinned to old kernels by OPENBLAS_CORETYPE, and it threads on the same OpenMP team
// as the rest of the library.
#include <dnnl.h>
#include <omp.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "core/check.h"
#include "ops/gemm.h"

namespace xclip::ops {

namespace {

// At least this many rows per thread before a product is split by rows (below, oneDNN's own
// threading is kept: a few dozen rows per thread leave its kernels short of work).
constexpr std::int64_t kMinRowsPerThread = 128;

dnnl_status_t sgemm(bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
                    const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc) {
  return dnnl_sgemm('N', trans_b ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

// Each thread multiplies its own contiguous rows of A and C with all of B, in a sequential
// sgemm (a nested region runs on one thread). oneDNN's 2-thread partition of the
// same products was 5–20 % slower on this project's shapes, most on the narrow, deep ones
// (5,200×512 outputs over K = 2,048 or 512: 131–150 against 158–166 GFLOP/s, accumulating
// into C as the MLP's second layer does; both ways alternating in one process, 2 threads).
dnnl_status_t sgemm_split_rows(int threads, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                               const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
                               std::int64_t ldc) {
  std::atomic<int> failure{dnnl_success};
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    // Equal parts, not rounded to the kernel's row blocks: a sequential sgemm's time per row
    // is flat from 192 to 216 rows (N = 3,072, K = 768), and one video's 408 rows split
    // 208 + 200 left one thread waiting 4 % of the product.
    const std::int64_t lo = M * t / nt, hi = M * (t + 1) / nt;
    if (lo < hi) {
      const dnnl_status_t status = sgemm(trans_b, hi - lo, N, K, A + lo * lda, lda, B, ldb, beta, C + lo * ldc, ldc);
      if (status != dnnl_success) failure.store(status);
    }
  }
  return static_cast<dnnl_status_t>(failure.load());
}

}  // namespace

void gemm_f32(bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
              const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  const int threads = omp_get_max_threads();
  const bool split = threads > 1 && !omp_in_parallel() && M >= kMinRowsPerThread * threads;
  const dnnl_status_t status = split ? sgemm_split_rows(threads, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc)
                                     : sgemm(trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc);
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
