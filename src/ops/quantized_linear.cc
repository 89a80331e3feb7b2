#include "ops/quantized_linear.h"

#include <dnnl.h>

#include <algorithm>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/parallel.h"
#include "core/scratch.h"
#include "ops/cpu/amx.h"
#include "ops/gemm.h"
#include "ops/linear.h"
#include "ops/onednn.h"
#include "ops/outlier_channels.h"

namespace xclip::ops {

namespace {

// The matmul primitive for x[M, K] s8 · W[K, N] (packed) -> s32, or null when oneDNN would
// only offer its reference implementation (then the GEMM API is faster).
std::shared_ptr<const dnnl::matmul> make_matmul(std::int64_t M, std::int64_t K, std::int64_t N,
                                                const dnnl::memory::desc& weights) {
  using dt = dnnl::memory::data_type;
  try {
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(rows_desc(M, K, dt::s8), weights, rows_desc(M, N, dt::s32)), cpu_engine());
    if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) return nullptr;
    return std::make_shared<const dnnl::matmul>(pd);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

}  // namespace

struct PackedInt8Weights {
  std::int64_t K = 0, N = 0;
  Tensor values;  // I8 [N, K], the source of the packed copy

  // The primitive for M rows and the packed weights, or null primitive when oneDNN has no
  // optimised int8 matmul here. The weights are reordered on first use, not at load: the
  // reorder runs at ~300 MB/s (~0.45 s for base-patch32) and would triple the load time.
  std::pair<std::shared_ptr<const dnnl::matmul>, const dnnl::memory*> for_rows(std::int64_t M) const {
    std::lock_guard<std::mutex> lock(mutex);
    if (!tried) pack_once();
    if (!weights) return {nullptr, nullptr};
    auto it = by_rows.find(M);
    if (it == by_rows.end()) it = by_rows.emplace(M, make_matmul(M, K, N, weights->get_desc())).first;
    return {it->second, weights.get()};
  }

  // W's values in the AMX tile layout, or null where the tile kernels cannot run (no AMX, or
  // a shape they do not take). Fixed once pack_tiles() has run, before the weights are shared.
  const std::int8_t* tiles() const { return tile_values.get(); }

  // The tile layout is made at load, where AMX runs: at 2–7 GB/s it adds ~20–40 ms to loading
  // base-patch32, against ~2× on the first forward when done there (with its page faults).
  // oneDNN's reorder (~300 MB/s) stays on first use.
  void pack_tiles() {
    if (!cpu::amx_usable() || !cpu::amx_s8_shape_ok(N, K)) return;
    tile_values.reset(new std::int8_t[static_cast<std::size_t>(N * K)]);
    cpu::amx_pack_s8(values.data<std::int8_t>(), N, K, tile_values.get());
  }

  // W's values in float32 (see dequantize_int8_weights), made once: the product of CPUs whose
  // int8 kernels are not exact.
  const float* dequantized(const QuantizedMatrix& W) const {
    std::lock_guard<std::mutex> lock(mutex);
    if (!dequantized_values) {
      dequantized_values.reset(new float[static_cast<std::size_t>(N * K)]);  // not zero-filled first
      dequantize_int8_weights(W, dequantized_values.get());
    }
    return dequantized_values.get();
  }

 private:
  void pack_once() const {
    using dt = dnnl::memory::data_type;
    tried = true;
    try {
      const dnnl::matmul::primitive_desc probe = weights_layout_probe(K, N, dt::s8, dt::s8, dt::s32);
      if (std::string(probe.impl_info_str()).rfind("ref", 0) == 0) return;
      weights = reorder_linear_weights(values.raw(), N, K, dt::s8, probe.weights_desc());
    } catch (const dnnl::error&) {
      weights.reset();  // the GEMM API path stays correct
    }
  }

  mutable std::mutex mutex;
  mutable bool tried = false;
  mutable std::unique_ptr<dnnl::memory> weights;  // blocked, owned by oneDNN
  mutable std::map<std::int64_t, std::shared_ptr<const dnnl::matmul>> by_rows;
  mutable std::unique_ptr<float[]> dequantized_values;
  std::unique_ptr<std::int8_t[]> tile_values;
};

void QuantizedMatrix::pack() {
  auto p = std::make_shared<PackedInt8Weights>();
  p->K = cols;
  p->N = rows;
  p->values = values;
  p->pack_tiles();
  packed = std::move(p);
}

bool uses_packed_matmul(const QuantizedMatrix& W, std::int64_t M) {
  return W.packed && W.packed->for_rows(M).first != nullptr;
}

namespace {

// c[M, N] = q[M, K] · Wᵀ in int32: the packed matmul primitive when there is one for M,
// else oneDNN's GEMM API (which packs the weights again on every call).
void multiply_s8(const std::int8_t* q, std::int64_t M, std::int64_t K, const QuantizedMatrix& W, std::int32_t* c) {
  const std::int64_t N = W.rows;
  if (W.packed) {
    if (const auto [matmul, weights] = W.packed->for_rows(M); matmul) {
      using dt = dnnl::memory::data_type;
      thread_local dnnl::stream stream(cpu_engine());
      const dnnl::memory src(rows_desc(M, K, dt::s8), cpu_engine(), const_cast<std::int8_t*>(q));
      const dnnl::memory dst(rows_desc(M, N, dt::s32), cpu_engine(), c);
      matmul->execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, *weights}, {DNNL_ARG_DST, dst}});
      stream.wait();
      return;
    }
  }
  const std::int32_t zero = 0;
  const dnnl_status_t status =
      dnnl_gemm_s8s8s32('N', 'T', 'F', M, N, K, 1.0f, q, K, 0, W.values.data<std::int8_t>(), K, 0, 0.0f, c, N, &zero);
  XCLIP_CHECK(status == dnnl_success, Error) << "oneDNN int8 GEMM failed (status " << static_cast<int>(status) << ")";
}

// c[M, N] = q · Wᵀ on AMX tiles (q has amx_padded_rows(M) rows): the probe's view of the
// product linear_q8 fuses with its epilogue.
void multiply_s8_on_tiles(const std::int8_t* q, std::int64_t M, std::int64_t K, const std::int8_t* tiles,
                          std::int64_t N, std::int32_t* c) {
  cpu::amx_matmul_s8(
      q, M, K, tiles, N, [&](std::int64_t row0, std::int64_t rows, std::int64_t col0, const std::int32_t* block) {
        for (std::int64_t r = 0; r < rows; ++r)
          std::memcpy(c + (row0 + r) * N + col0, block + r * cpu::kAmxBlock, sizeof(std::int32_t) * cpu::kAmxBlock);
      });
}

// Multiplies s8 values at the ends of their range through each int8 path (multiply_s8's two,
// and AMX tiles where they run) and compares with the exact int32 sums. Without VNNI,
// oneDNN's kernels shift the activations to u8 and add pairs of u8·s8 products in int16 with
// saturation (vpmaddubsw); at 255·127·2 such a pair overflows, and a few overflowing pairs
// are enough to bend an embedding.
bool probe_int8_products_exact() {
  const std::int64_t K = 256, N = 64;  // a shape the AMX tiles take too
  std::uint32_t state = 12345;
  auto extreme = [&state]() {  // mostly ±127, some ±100: signs and sizes that overflow int16 pairs
    state = state * 1664525u + 1013904223u;
    const std::int8_t magnitude = (state >> 28) % 4 == 0 ? 100 : 127;
    return static_cast<std::int8_t>((state >> 31) ? -magnitude : magnitude);
  };
  // Every row peaks at 127, so quantizing keeps these integers as they are (scale 1).
  std::vector<float> weights(static_cast<std::size_t>(N * K));
  for (float& v : weights) v = extreme();
  for (std::int64_t n = 0; n < N; ++n) weights[n * K] = 127.0f;
  QuantizedMatrix W = QuantizedMatrix::quantize(weights.data(), N, K);
  const std::int8_t* w = W.values.data<std::int8_t>();
  QuantizedMatrix packed = W;
  packed.pack();
  const std::int8_t* tiles = packed.packed->tiles();
  for (const std::int64_t M : {std::int64_t{1}, std::int64_t{37}}) {
    std::vector<std::int8_t> x(static_cast<std::size_t>(cpu::amx_padded_rows(M) * K));  // zero padding rows
    for (std::int64_t i = 0; i < M * K; ++i) x[i] = extreme();
    for (int path = 0; path < (tiles ? 3 : 2); ++path) {
      std::vector<std::int32_t> c(static_cast<std::size_t>(M * N));
      if (path == 2) {
        multiply_s8_on_tiles(x.data(), M, K, tiles, N, c.data());
      } else {
        multiply_s8(x.data(), M, K, path == 0 ? W : packed, c.data());
      }
      for (std::int64_t r = 0; r < M; ++r)
        for (std::int64_t n = 0; n < N; ++n) {
          std::int64_t exact = 0;
          for (std::int64_t k = 0; k < K; ++k) exact += std::int64_t{x[r * K + k]} * w[n * K + k];
          if (c[r * N + n] != exact) return false;
        }
    }
  }
  return true;
}

// y = act(x · Wᵀ + bias) (or y += x · Wᵀ + bias) in float32 on the weights the int8 path
// uses: W's dequantized values, and for the outlier channels of x the float32 columns it has
// (ops/outlier_channels.h). Only the activations stay float32, so the result is at least as
// close to float32 as exact int8's: the product where the int8 kernels are not exact.
// Screening also runs while convert records it: its folder must not depend on the CPU.
void linear_q8_in_float32(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const QuantizedMatrix& W,
                          const float* bias, float* y, cpu::Activation act, bool accumulate) {
  const std::int64_t N = W.rows;
  thread_local std::vector<float> unpacked;  // matrices never packed (tests) dequantize per call
  const float* w = nullptr;
  if (W.packed) {
    w = W.packed->dequantized(W);
  } else {
    float* scratch = grow_only(unpacked, static_cast<std::size_t>(N * K));
    dequantize_int8_weights(W, scratch);
    w = scratch;
  }
  gemm_f32(true, M, N, K, x, ldx, w, K, accumulate ? 1.0f : 0.0f, y, N);

  // The stored columns are in w already; whole float32 weights (int8 quantized at load) give
  // the outliers' columns only at run time, as a correction x_o · (W_o - dequantized W_o).
  const bool whole_float_weights =
      std::any_of(W.exact.begin(), W.exact.end(), [](const ExactColumns& e) { return e.full != nullptr; });
  OutlierLog* log = OutlierLog::active();
  thread_local std::vector<std::int64_t> outliers;
  thread_local std::vector<float> side, columns;
  outliers.clear();
  if (whole_float_weights || log) find_outlier_channels(x, M, K, ldx, outliers);
  if (log && !outliers.empty()) log->record(W.names, outliers);
  const std::int64_t n_out = whole_float_weights ? static_cast<std::int64_t>(outliers.size()) : 0;
  if (n_out == 0) return bias_act_rows(y, bias, M, N, act);
  float* side_values = grow_only(side, static_cast<std::size_t>(M * n_out));
  float* correction = grow_only(columns, static_cast<std::size_t>(N * n_out));
  gather_outliers(x, M, ldx, outliers, side_values);
  weight_columns(W, outliers, correction);
  for (std::int64_t r = 0; r < N; ++r)
    for (std::int64_t i = 0; i < n_out; ++i) correction[r * n_out + i] -= w[r * K + outliers[i]];
  bias_act_rows(y, bias, M, N, cpu::Activation::Identity);
  add_outlier_product(side_values, M, n_out, correction, N, y, act);
}

}  // namespace

bool int8_products_exact() {
  static const bool exact = probe_int8_products_exact();
  return exact;
}

void dequantize_int8_weights(const QuantizedMatrix& W, float* out) {
  const std::int64_t K = W.cols;
  const std::int8_t* values = W.values.data<std::int8_t>();
  const float* scales = W.scales.data<float>();
  parallel_for(0, W.rows, 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r)
      for (std::int64_t c = 0; c < K; ++c) out[r * K + c] = static_cast<float>(values[r * K + c]) * scales[r];
  });
  // The columns convert stored in float32 (the outlier channels it found) replace theirs.
  const std::int64_t parts = static_cast<std::int64_t>(W.exact.size());
  for (std::int64_t p = 0; p < parts; ++p) {
    const ExactColumns& e = W.exact[static_cast<std::size_t>(p)];
    if (e.full || !e.channels.defined()) continue;
    const std::int64_t part_rows = W.rows / parts, n = e.channels.numel();
    const std::int64_t* channels = e.channels.data<std::int64_t>();
    const float* columns = e.columns.data<float>();
    for (std::int64_t r = 0; r < part_rows; ++r)
      for (std::int64_t i = 0; i < n; ++i) out[(p * part_rows + r) * K + channels[i]] = columns[r * n + i];
  }
}

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

void weight_columns(const QuantizedMatrix& W, const std::vector<std::int64_t>& channels, float* out) {
  const std::int64_t n = static_cast<std::int64_t>(channels.size()), K = W.cols;
  const std::int64_t parts = std::max<std::int64_t>(1, static_cast<std::int64_t>(W.exact.size()));
  const std::int64_t part_rows = W.rows / parts;
  const std::int8_t* values = W.values.data<std::int8_t>();
  const float* scales = W.scales.data<float>();
  std::vector<std::int64_t> stored(static_cast<std::size_t>(n));  // index into the part's columns, or -1
  for (std::int64_t p = 0; p < parts; ++p) {
    const ExactColumns* e = W.exact.empty() ? nullptr : &W.exact[static_cast<std::size_t>(p)];
    const std::int64_t n_stored = e && !e->full && e->channels.defined() ? e->channels.numel() : 0;
    const std::int64_t* stored_channels = n_stored ? e->channels.data<std::int64_t>() : nullptr;
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t* hit = std::lower_bound(stored_channels, stored_channels + n_stored, channels[i]);
      stored[i] = hit != stored_channels + n_stored && *hit == channels[i] ? hit - stored_channels : -1;
    }
    for (std::int64_t r = 0; r < part_rows; ++r) {
      const std::int64_t row = p * part_rows + r;
      for (std::int64_t i = 0; i < n; ++i) {
        float& w = out[row * n + i];
        if (e && e->full) {
          w = e->full[r * K + channels[i]];
        } else if (stored[i] >= 0) {
          w = e->columns.data<float>()[r * n_stored + stored[i]];
        } else {
          w = static_cast<float>(values[row * K + channels[i]]) * scales[row];
        }
      }
    }
  }
}

void linear_q8(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const QuantizedMatrix& W,
               const float* bias, float* y, cpu::Activation act, bool accumulate) {
  XCLIP_DCHECK(K == W.cols);
  const std::int64_t N = W.rows;
  if (M == 0) return;
  if (!int8_products_exact()) return linear_q8_in_float32(x, M, K, ldx, W, bias, y, act, accumulate);
  // Scratch per calling thread, grown once (no allocation per layer once warm).
  thread_local std::vector<std::int8_t> xq;
  thread_local std::vector<float> row_scale;
  thread_local std::vector<std::int32_t> acc;
  thread_local std::vector<std::int64_t> outliers;
  thread_local std::vector<float> side, columns, masked_rows;
  const std::int8_t* tiles = W.packed ? W.packed->tiles() : nullptr;
  // The tile kernels read whole blocks of rows: the padding rows are zero.
  const std::int64_t q_rows = tiles ? cpu::amx_padded_rows(M) : M;
  std::int8_t* q = grow_only(xq, static_cast<std::size_t>(q_rows * K));
  std::memset(q + M * K, 0, static_cast<std::size_t>((q_rows - M) * K));
  float* rs = grow_only(row_scale, static_cast<std::size_t>(M));
  const cpu::CpuKernels& k = cpu::kernels();

  find_outlier_channels(x, M, K, ldx, outliers);
  const std::int64_t n_out = static_cast<std::int64_t>(outliers.size());
  if (n_out == 0) {
    parallel_for(0, M, 8, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t r = lo; r < hi; ++r) rs[r] = k.f32_quantize_s8(x + r * ldx, K, q + r * K);
    });
  } else {
    if (OutlierLog* log = OutlierLog::active()) log->record(W.names, outliers);
    float* side_values = grow_only(side, static_cast<std::size_t>(M * n_out));
    float* side_columns = grow_only(columns, static_cast<std::size_t>(N * n_out));
    gather_outliers(x, M, ldx, outliers, side_values);
    weight_columns(W, outliers, side_columns);
    // Each row is quantized without its outlier channels (zeroed in a copy), so that its
    // scale follows the ordinary channels.
    float* masked = grow_only(masked_rows, static_cast<std::size_t>(M * K));
    const std::int64_t* o = outliers.data();
    parallel_for(0, M, 8, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t r = lo; r < hi; ++r) {
        float* row = masked + r * K;
        std::memcpy(row, x + r * ldx, sizeof(float) * K);
        for (std::int64_t i = 0; i < n_out; ++i) row[o[i]] = 0.0f;
        rs[r] = k.f32_quantize_s8(row, K, q + r * K);
      }
    });
  }
  const float* ws = W.scales.data<float>();
  // With outliers the activation waits until their float32 product is added.
  const cpu::Activation epilogue_act = n_out ? cpu::Activation::Identity : act;
  if (tiles) {
    // Each 32×32 block is rescaled into y while it is still in cache.
    cpu::amx_matmul_s8(
        q, M, K, tiles, N, [&](std::int64_t row0, std::int64_t rows, std::int64_t col0, const std::int32_t* block) {
          k.s32_dequantize_bias_act(block, cpu::kAmxBlock, rows, rs + row0, ws + col0, bias ? bias + col0 : nullptr,
                                    y + row0 * N + col0, N, cpu::kAmxBlock, epilogue_act, accumulate);
        });
    if (n_out) add_outlier_product(side.data(), M, n_out, columns.data(), N, y, act);
    return;
  }
  std::int32_t* c = grow_only(acc, static_cast<std::size_t>(M * N));
  multiply_s8(q, M, K, W, c);
  parallel_for(0, M, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(N, 1)),
               [&](std::int64_t lo, std::int64_t hi) {
                 k.s32_dequantize_bias_act(c + lo * N, N, hi - lo, rs + lo, ws, bias, y + lo * N, N, N, epilogue_act,
                                           accumulate);
               });
  if (n_out == 0) return;
  add_outlier_product(side.data(), M, n_out, columns.data(), N, y, act);
}

}  // namespace xclip::ops
