// The one matrix-product entry point of the library; model code never calls BLAS directly.
#pragma once

#include <cstdint>

namespace xclip::ops {

// C[M, N] = A[M, K] · op(B) + beta · C, row-major with leading dimensions.
// op(B) = Bᵀ when trans_b (B stored [N, K], the nn.Linear weight layout), else B [K, N].
void gemm_f32(bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
              const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc);

// Name of the GEMM backend compiled in ("onednn").
const char* gemm_backend();

}  // namespace xclip::ops
