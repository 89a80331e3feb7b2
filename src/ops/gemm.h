// The one matrix-product entry point of the library; model code never calls BLAS directly.
#pragma once

#include <cstdint>

namespace xclip::ops {

// C[M, N] = A[M, K] · op(B) + beta · C, row-major with leading dimensions.
// op(B) = Bᵀ when trans_b (B stored [N, K], the nn.Linear weight layout), else B [K, N].
void gemm_f32(bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
              const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc);

// Makes oneDNN generate its sgemm kernels now (once per process; every later call returns at
// once): it does so at the first call of each variant, which otherwise lands in the first
// forward after load (~40 ms of it, 1.4–1.6× a steady int8 forward on a 2-core Xeon).
void warm_up_gemm();

// Name of the GEMM backend compiled in ("onednn").
const char* gemm_backend();

}  // namespace xclip::ops
