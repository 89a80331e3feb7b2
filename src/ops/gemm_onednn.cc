// GEMM through oneDNN's JIT sgemm: it picks AVX2 / AVX-512 kernels from CPUID itself, so it
// is not pinned to old kernels by OPENBLAS_CORETYPE, and it threads on the same OpenMP team
// as the rest of the library.
#include <dnnl.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "core/check.h"
#include "core/parallel.h"
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

}  // namespace

// Products of at least kMinRowsPerThread rows per thread: each thread multiplies its own
// equal, contiguous rows of A and C with all of B in a sequential sgemm (parallel_for's parts;
// a nested region runs on one thread). oneDNN's 2-thread partition of the same products was
// 5–20 % slower on this project's shapes, most on the narrow, deep ones (5,200×512 outputs
// over K = 2,048 or 512: 131–150 against 158–166 GFLOP/s, accumulating into C as the MLP's
// second layer does; both ways alternating in one process, 2 threads). Parts are not rounded
// to the kernel's row blocks: a sequential sgemm's time per row is flat from 192 to 216 rows
// (N = 3,072, K = 768), and one video's 408 rows split 208 + 200 left one thread waiting 4 %.
void gemm_f32(bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
              const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  dnnl_status_t status = dnnl_success;
  if (M >= kMinRowsPerThread * num_threads()) {
    std::atomic<int> failure{dnnl_success};
    parallel_for(0, M, 1, [&](std::int64_t lo, std::int64_t hi) {
      const dnnl_status_t part = sgemm(trans_b, hi - lo, N, K, A + lo * lda, lda, B, ldb, beta, C + lo * ldc, ldc);
      if (part != dnnl_success) failure.store(part);
    });
    status = static_cast<dnnl_status_t>(failure.load());
  } else {
    status = sgemm(trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc);
  }
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
