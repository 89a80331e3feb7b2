// Row kernels for float32, one variant per instruction set, chosen once at run time.
// Kernels trust their arguments (the op front-ends in src/ops validate).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xclip::cpu {

// transformers' ACT2FN entries used by X-CLIP configs.
enum class Activation { Identity, QuickGelu, Gelu, GeluTanh, GeluFast, Relu, Silu };

struct CpuKernels {
  const char* isa;
  // y[i] += x[i]
  void (*f32_add)(const float* x, float* y, std::int64_t n);
  // y = (x - mean) / sqrt(var + eps) * w + b over one row of n (y may alias x)
  void (*f32_layer_norm)(const float* x, const float* w, const float* b, float eps, float* y, std::int64_t n);
  // y[i] = act(y[i] + bias[i]); bias may be null
  void (*f32_bias_act)(float* y, const float* bias, std::int64_t n, Activation act);
  // in-place softmax of one row (max-subtracted, float32 like torch)
  void (*f32_softmax)(float* x, std::int64_t n);
  // One row of a horizontal 8-bit RGB resampling pass (fixed point, see vision/resample.h):
  // out[x·3 + c] = clamp((2^(precision-1) + Σ_t in[(first[x] + t)·3 + c] · w[x·ksize + t]) >> precision)
  // for x < n. SIMD variants use `pairs` instead of `weights`: the same weights as int16
  // pairs (k[2i], k[2i+1]) packed in int32, ksize/2 rounded up per pixel, zero-padded, and
  // may then read up to 3·ksize + 8 bytes past a pixel of `in`. The scalar variant reads
  // only `weights`, which may be any int32.
  void (*u8_resample_row)(const std::uint8_t* in, const std::int32_t* first, const std::int32_t* count,
                          const std::int32_t* weights, const std::int32_t* pairs, int ksize, int precision, int n,
                          std::uint8_t* out);
  // Symmetric int8 of one row: returns scale = max|x| / 127 (1 if all zero) and writes
  // q[i] = round_half_even(clamp(x[i] / scale, ±127)) (x · (1/scale) exactly as computed).
  // Bit-identical across variants.
  float (*f32_quantize_s8)(const float* x, std::int64_t n, std::int8_t* q);
  // The float result of an int8 product, rows of n (acc and y rows ld_acc, ldy apart):
  // v[r, i] = acc[r, i] · row_scales[r] · col_scales[i] (+ bias[i]); y[r, i] = act(v[r, i]),
  // or y[r, i] += v[r, i] when `accumulate` (act must be Identity).
  void (*s32_dequantize_bias_act)(const std::int32_t* acc, std::int64_t ld_acc, std::int64_t rows,
                                  const float* row_scales, const float* col_scales, const float* bias, float* y,
                                  std::int64_t ldy, std::int64_t n, Activation act, bool accumulate);
  // The same for a float product c: y[r, i] = act(c[r, i] + bias[i]), or y[r, i] += c[r, i]
  // + bias[i] when `accumulate` (act must be Identity); bias may be null.
  void (*f32_rows_bias_act)(const float* c, std::int64_t ldc, std::int64_t rows, const float* bias, float* y,
                            std::int64_t ldy, std::int64_t n, Activation act, bool accumulate);
  // Sum and maximum of |x[i]| over one row (outlier-channel screening).
  void (*f32_abs_sum_max)(const float* x, std::int64_t n, float* sum, float* max);
  // peak[i] = max(peak[i], |x[i]| · scale)
  void (*f32_abs_peak)(const float* x, std::int64_t n, float scale, float* peak);
  // C[M, N] = alpha · A[M, K] · B[K, N], row-major with leading dimensions lda, ldb, ldc, for
  // products too small for a BLAS call (one attention head). Reads only the named elements.
  void (*f32_small_gemm)(std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* A, std::int64_t lda,
                         const float* B, std::int64_t ldb, float* C, std::int64_t ldc);
  // y[M, N] = x[M, K] · W[N, K]ᵀ, or y += x · Wᵀ when `accumulate`, rows ldx, ldw, ldy apart:
  // a linear layer's product for a few rows of x (see ops::kFewRows), reading W once.
  void (*f32_few_rows_linear)(const float* x, std::int64_t M, std::int64_t ldx, const float* W, std::int64_t N,
                              std::int64_t ldw, std::int64_t K, float* y, std::int64_t ldy, bool accumulate);
};

// The table for the best ISA this CPU supports, or the one forced by XCLIP_CPU_ISA.
const CpuKernels& kernels();
// Variants this CPU can run, best last ("scalar" always first).
std::vector<std::string> supported_isas();
// A variant by name; nullptr when unknown or not supported by this CPU.
const CpuKernels* kernels_for_isa(const std::string& isa);
// Switches every later op to variant `isa` (tests run the goldens once per variant);
// UnsupportedError if this CPU cannot run it. Not meant to race with running forwards.
void use_isa(const std::string& isa);

}  // namespace xclip::cpu
