#include "ops/bf16_linear.h"

#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "core/check.h"
#include "core/parallel.h"
#include "core/scratch.h"
#include "ops/convert.h"
#include "ops/cpu/amx.h"
#include "ops/onednn.h"
#include "ops/outlier_channels.h"

namespace xclip::ops {

namespace {

using dt = dnnl::memory::data_type;

// The activation as a oneDNN post-op (GeluFast is the tanh approximation written another way).
void append_activation(dnnl::post_ops& ops, cpu::Activation act) {
  using A = cpu::Activation;
  using alg = dnnl::algorithm;
  switch (act) {
    case A::Identity:
      return;
    case A::QuickGelu:
      return ops.append_eltwise(1.0f, alg::eltwise_swish, 1.702f, 0.0f);
    case A::Silu:
      return ops.append_eltwise(1.0f, alg::eltwise_swish, 1.0f, 0.0f);
    case A::Gelu:
      return ops.append_eltwise(1.0f, alg::eltwise_gelu_erf, 0.0f, 0.0f);
    case A::GeluTanh:
    case A::GeluFast:
      return ops.append_eltwise(1.0f, alg::eltwise_gelu_tanh, 0.0f, 0.0f);
    case A::Relu:
      return ops.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f);
  }
}

}  // namespace

struct Bf16Weights {
  const float* source = nullptr;  // [N, K] float32
  std::int64_t K = 0, N = 0;

  // The weights rounded to bf16 in the AMX tile layout, or null where the tile kernels cannot
  // run (no AMX, or a shape they do not take). Fixed once pack_tiles() has run, in prepare_bf16.
  const std::uint16_t* tiles() const { return tile_values.get(); }

  // At load, where AMX runs: see QuantizedMatrix::pack.
  void pack_tiles() {
    if (!cpu::amx_usable() || !cpu::amx_bf16_shape_ok(N, K)) return;
    std::vector<std::uint16_t> rounded(static_cast<std::size_t>(N * K));
    f32_to_bf16(source, rounded.data(), N * K);
    tile_values.reset(new std::uint16_t[static_cast<std::size_t>(N * K)]);
    cpu::amx_pack_bf16(rounded.data(), N, K, tile_values.get());
  }

  struct Prepared {
    std::shared_ptr<const dnnl::matmul> matmul;
    const dnnl::memory* weights;
  };

  // The primitive for M rows with these epilogues, and the converted weights (both made on
  // first use, under a lock; shapes repeat from call to call).
  Prepared prepare(std::int64_t M, cpu::Activation act, bool accumulate, bool has_bias) const {
    std::lock_guard<std::mutex> lock(mutex);
    if (!weights) convert();
    const auto key = std::make_tuple(M, static_cast<int>(act), accumulate, has_bias);
    auto it = primitives.find(key);
    if (it == primitives.end()) {
      dnnl::post_ops ops;
      if (accumulate) ops.append_sum(1.0f);
      append_activation(ops, act);
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      const auto bias_desc = has_bias ? rows_desc(1, N, dt::f32) : dnnl::memory::desc();
      const dnnl::matmul::primitive_desc pd(
          dnnl::matmul::desc(rows_desc(M, K, dt::bf16), weights->get_desc(), bias_desc, rows_desc(M, N, dt::f32)), attr,
          cpu_engine());
      it = primitives.emplace(key, std::make_shared<const dnnl::matmul>(pd)).first;
    }
    return {it->second, weights.get()};
  }

 private:
  void convert() const {
    weights = reorder_linear_weights(source, N, K, dt::f32,
                                     weights_layout_probe(K, N, dt::bf16, dt::bf16, dt::f32).weights_desc());
  }

  mutable std::mutex mutex;
  mutable std::unique_ptr<dnnl::memory> weights;
  mutable std::map<std::tuple<std::int64_t, int, bool, bool>, std::shared_ptr<const dnnl::matmul>> primitives;
  std::unique_ptr<std::uint16_t[]> tile_values;
};

bool bf16_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
}

std::shared_ptr<const Bf16Weights> prepare_bf16(const float* W, std::int64_t rows, std::int64_t cols) {
  auto w = std::make_shared<Bf16Weights>();
  w->source = W;
  w->K = cols;
  w->N = rows;
  w->pack_tiles();
  return w;
}

namespace {

// y = act(b · Wᵀ + bias) (or y += b · Wᵀ + bias) for the rounded activations b: on AMX tiles
// (b then has amx_padded_rows(M) rows), or through oneDNN's matmul with fused post-ops.
void multiply_on_tiles(const std::uint16_t* b, std::int64_t M, std::int64_t K, const std::uint16_t* tiles,
                       std::int64_t N, const float* bias, float* y, cpu::Activation act, bool accumulate);
void multiply_with_onednn(const std::uint16_t* b, std::int64_t M, std::int64_t K, const Bf16Weights& W,
                          const float* bias, float* y, cpu::Activation epilogue_act, bool accumulate);

}  // namespace

void linear_bf16(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx, const Bf16Weights& W,
                 const float* bias, float* y, cpu::Activation act, bool accumulate) {
  XCLIP_DCHECK(K == W.K);
  if (M == 0) return;
  // Rounded activations, per calling thread, grown once.
  thread_local std::vector<std::uint16_t> xb;
  thread_local std::vector<std::int64_t> outliers;
  thread_local std::vector<float> side, columns;
  const std::uint16_t* tiles = W.tiles();
  // The tile kernels read whole blocks of rows: the padding rows are zero.
  const std::int64_t b_rows = tiles ? cpu::amx_padded_rows(M) : M;
  std::uint16_t* b = grow_only(xb, static_cast<std::size_t>(b_rows * K));
  std::memset(b + M * K, 0, sizeof(std::uint16_t) * static_cast<std::size_t>((b_rows - M) * K));
  find_outlier_channels(x, M, K, ldx, outliers);
  const std::int64_t n_out = static_cast<std::int64_t>(outliers.size());
  const std::int64_t* o = outliers.data();
  parallel_for(0, M, 8, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      f32_to_bf16(x + r * ldx, b + r * K, K);
      for (std::int64_t i = 0; i < n_out; ++i) b[r * K + o[i]] = 0;  // bf16 +0: multiplied in float32 below
    }
  });
  if (n_out) {
    float* side_values = grow_only(side, static_cast<std::size_t>(M * n_out));
    float* side_columns = grow_only(columns, static_cast<std::size_t>(W.N * n_out));
    gather_outliers(x, M, ldx, outliers, side_values);
    for (std::int64_t n = 0; n < W.N; ++n)
      for (std::int64_t i = 0; i < n_out; ++i) side_columns[n * n_out + i] = W.source[n * K + o[i]];
  }
  // With outliers the activation waits until their float32 product is added.
  const cpu::Activation epilogue_act = n_out ? cpu::Activation::Identity : act;
  if (tiles) {
    multiply_on_tiles(b, M, K, tiles, W.N, bias, y, epilogue_act, accumulate);
  } else {
    multiply_with_onednn(b, M, K, W, bias, y, epilogue_act, accumulate);
  }
  if (n_out == 0) return;
  add_outlier_product(side.data(), M, n_out, columns.data(), W.N, y, act);
}

namespace {

void multiply_on_tiles(const std::uint16_t* b, std::int64_t M, std::int64_t K, const std::uint16_t* tiles,
                       std::int64_t N, const float* bias, float* y, cpu::Activation act, bool accumulate) {
  const cpu::CpuKernels& k = cpu::kernels();
  // Each 32×32 block gets its epilogue while it is still in cache.
  cpu::amx_matmul_bf16(b, M, K, tiles, N,
                       [&](std::int64_t row0, std::int64_t rows, std::int64_t col0, const float* block) {
                         k.f32_rows_bias_act(block, cpu::kAmxBlock, rows, bias ? bias + col0 : nullptr,
                                             y + row0 * N + col0, N, cpu::kAmxBlock, act, accumulate);
                       });
}

void multiply_with_onednn(const std::uint16_t* b, std::int64_t M, std::int64_t K, const Bf16Weights& W,
                          const float* bias, float* y, cpu::Activation epilogue_act, bool accumulate) {
  try {
    const Bf16Weights::Prepared p = W.prepare(M, epilogue_act, accumulate, bias != nullptr);
    thread_local dnnl::stream stream(cpu_engine());
    const dnnl::memory src(rows_desc(M, K, dt::bf16), cpu_engine(), const_cast<std::uint16_t*>(b));
    const dnnl::memory dst(rows_desc(M, W.N, dt::f32), cpu_engine(), y);
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, *p.weights}, {DNNL_ARG_DST, dst}};
    if (bias)
      args.emplace(DNNL_ARG_BIAS, dnnl::memory(rows_desc(1, W.N, dt::f32), cpu_engine(), const_cast<float*>(bias)));
    p.matmul->execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    XCLIP_FAIL(Error) << "oneDNN bf16 matmul failed: " << e.what();
  }
}

}  // namespace

}  // namespace xclip::ops
