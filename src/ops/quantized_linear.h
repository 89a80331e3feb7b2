// int8 matrix products for reduced-precision inference: weights quantized once per output
// channel (symmetric int8), activations per row on the fly, int32 accumulation on AMX tiles
// (ops/cpu/amx.h) or through oneDNN (VNNI where the CPU has it), float32 rescale + bias +
// activation after (on AMX, per finished block while it is in cache).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/cpu/kernels.h"
#include "xclip/tensor.h"

namespace xclip::ops {

// The int8 weights reordered into the blocked layout of oneDNN's matmul primitive (with its
// s8·s8 compensation) and that primitive per row count, both built on first use.
struct PackedInt8Weights;

// Float32 weight columns for input channels that turn out to be activation outliers
// (ops/outlier_channels.h), for one stacked part of a QuantizedMatrix: the float weight
// itself when it was quantized at load, else the columns `xclip convert` stored.
struct ExactColumns {
  const float* full = nullptr;  // [part rows, cols], owned by the weight store
  Tensor channels;              // or I64 [n] ascending...
  Tensor columns;               // ...with F32 [part rows, n]
};

struct QuantizedMatrix {
  Tensor values;  // I8 [rows, cols]
  Tensor scales;  // F32 [rows]: W[r, c] ≈ values[r, c] · scales[r]
  std::int64_t rows = 0, cols = 0;
  // One per stacked part (q/k/v: rows / exact.size() rows each), or empty: outlier channels
  // then use the dequantized int8 column.
  std::vector<ExactColumns> exact;
  // Per part, the state-dict names of the weights (what OutlierLog records under).
  std::vector<std::string> names;
  // Set by pack(): products then skip re-packing the weights on every call (the GEMM API does;
  // ~5–15 % faster for a video's 408 rows).
  std::shared_ptr<const PackedInt8Weights> packed;

  // W is [rows, cols] row-major (the nn.Linear layout).
  static QuantizedMatrix quantize(const float* W, std::int64_t rows, std::int64_t cols);
  // Products use AMX tiles where the CPU has them (the tile layout is made here), else
  // oneDNN's matmul primitive on weights reordered for it at the first product (not here:
  // keeps loading fast); the GEMM API where oneDNN has no optimised int8 matmul.
  void pack();
};

// Whether oneDNN's int8 products are exact int32 on this CPU (probed once). They are with VNNI
// (AVX512-VNNI, AMX); without it they can saturate, and linear_q8 then multiplies in float32
// on the dequantized weights instead.
bool int8_products_exact();

// out[rows, cols] = W's values · scales, with the float32 columns `xclip convert` stored for
// outlier channels in their place.
void dequantize_int8_weights(const QuantizedMatrix& W, float* out);

// Whether products of M rows with W run on the packed matmul primitive (packs W if needed).
bool uses_packed_matmul(const QuantizedMatrix& W, std::int64_t M);

// out[N, n]: W's columns for `channels`, from W.exact where it has them, else dequantized.
void weight_columns(const QuantizedMatrix& W, const std::vector<std::int64_t>& channels, float* out);

// y[M, N] = act(x[M, K] · Wᵀ + bias), or y += x · Wᵀ + bias when `accumulate` (then act must
// be Identity). x rows are `ldx` floats apart. Outlier channels of x are multiplied in
// float32 beside the int8 product (see ops/outlier_channels.h); where int8_products_exact()
// is false the whole product runs in float32 on the dequantized weights.
void linear_q8(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const QuantizedMatrix& W,
               const float* bias, float* y, cpu::Activation act, bool accumulate);

}  // namespace xclip::ops
