// The AMX tile products (ops/cpu/amx.h) against oneDNN's matmul on the same operands, on the
// shapes of base-patch32's products, in one process: best of REPEATS, alternating.
//   xclip_bench_amx_products [THREADS] [REPEATS]
// Also times the tiles on one thread: where two threads are no faster than one, the two
// vCPUs share one AMX unit. Exits 2 on a CPU without usable AMX (nothing to compare).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dnnl.hpp>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "ops/cpu/amx.h"

namespace {

using Clock = std::chrono::steady_clock;
using dt = dnnl::memory::data_type;

struct Shape {
  std::int64_t M, K, N;
  const char* what;
};

// One product each way, writing the same [M, N] output (int32 or float).
struct Contenders {
  std::int64_t M, K, N;
  bool bf16;
  std::vector<std::uint8_t> a, packed;
  std::vector<float> out;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul matmul;
  dnnl::memory a_mem, w_mem, out_mem;

  Contenders(const Shape& s, bool use_bf16) : M(s.M), K(s.K), N(s.N), bf16(use_bf16) {
    const std::int64_t bytes = bf16 ? 2 : 1;
    a.assign(static_cast<std::size_t>(xclip::cpu::amx_padded_rows(M) * K * bytes), 1);
    std::vector<std::uint8_t> w(static_cast<std::size_t>(N * K * bytes), 1);
    packed.resize(w.size());
    out.resize(static_cast<std::size_t>(M * N));
    if (bf16) {
      xclip::cpu::amx_pack_bf16(reinterpret_cast<const std::uint16_t*>(w.data()), N, K,
                                reinterpret_cast<std::uint16_t*>(packed.data()));
    } else {
      xclip::cpu::amx_pack_s8(reinterpret_cast<const std::int8_t*>(w.data()), N, K,
                              reinterpret_cast<std::int8_t*>(packed.data()));
    }
    const dt in = bf16 ? dt::bf16 : dt::s8, result = bf16 ? dt::f32 : dt::s32;
    const dnnl::memory::desc a_desc({M, K}, in, dnnl::memory::format_tag::ab);
    const dnnl::memory::desc w_any({K, N}, in, dnnl::memory::format_tag::any);
    const dnnl::memory::desc out_desc({M, N}, result, dnnl::memory::format_tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_desc, w_any, out_desc), engine);
    matmul = dnnl::matmul(pd);
    a_mem = dnnl::memory(a_desc, engine, a.data());
    w_mem = dnnl::memory(pd.weights_desc(), engine);  // contents do not matter for the time
    out_mem = dnnl::memory(out_desc, engine, out.data());
  }

  void tiles() {
    auto copy = [&](std::int64_t row0, std::int64_t rows, std::int64_t col0, const void* block) {
      for (std::int64_t r = 0; r < rows; ++r)
        std::memcpy(&out[(row0 + r) * N + col0], static_cast<const char*>(block) + r * xclip::cpu::kAmxBlock * 4,
                    xclip::cpu::kAmxBlock * 4);
    };
    if (bf16) {
      xclip::cpu::amx_matmul_bf16(
          reinterpret_cast<const std::uint16_t*>(a.data()), M, K, reinterpret_cast<const std::uint16_t*>(packed.data()),
          N, [&](std::int64_t r, std::int64_t n, std::int64_t c, const float* b) { copy(r, n, c, b); });
    } else {
      xclip::cpu::amx_matmul_s8(
          reinterpret_cast<const std::int8_t*>(a.data()), M, K, reinterpret_cast<const std::int8_t*>(packed.data()), N,
          [&](std::int64_t r, std::int64_t n, std::int64_t c, const std::int32_t* b) { copy(r, n, c, b); });
    }
  }

  void onednn() {
    matmul.execute(stream, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, out_mem}});
    stream.wait();
  }
};

template <class F>
double once_ms(F&& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::stoi(argv[1]) : 2;
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 9;
  if (!xclip::cpu::amx_usable()) {
    std::fprintf(stderr, "xclip_bench_amx_products: this CPU (or XCLIP_AMX=0) gives no AMX tiles to compare\n");
    return 2;
  }
  const std::vector<Shape> shapes = {
      {408, 768, 2304, "vision q/k/v, 1 video"}, {408, 768, 3072, "vision fc1, 1 video"},
      {408, 3072, 768, "vision fc2, 1 video"},   {128, 768, 3072, "vision fc1, one MLP pass"},
      {3264, 768, 3072, "vision fc1, 8 videos"}, {5200, 512, 1536, "text q/k/v, 400 prompts"},
      {5200, 512, 2048, "text fc1, 400 prompts"}};
  std::printf("best of %d, %d threads; GOP/s = 2·M·K·N / time\n", repeats, threads);
  std::printf("%-5s %-26s %5s %5s %5s %12s %12s %9s %14s\n", "type", "product", "M", "K", "N", "tiles ms", "oneDNN ms",
              "ratio", "tiles 1 thread");
  for (const bool bf16 : {false, true}) {
    for (const Shape& s : shapes) {
      Contenders c(s, bf16);
      xclip::set_num_threads(threads);
      c.tiles();
      c.onednn();  // warm-up: packs nothing, but creates oneDNN's kernels
      double tiles = 1e30, onednn = 1e30, single = 1e30;
      for (int i = 0; i < repeats; ++i) {
        tiles = std::min(tiles, once_ms([&] { c.tiles(); }));
        onednn = std::min(onednn, once_ms([&] { c.onednn(); }));
      }
      xclip::set_num_threads(1);
      for (int i = 0; i < repeats; ++i) single = std::min(single, once_ms([&] { c.tiles(); }));
      const double gop = 2e-6 * static_cast<double>(s.M * s.K * s.N);
      std::printf("%-5s %-26s %5lld %5lld %5lld %6.2f (%4.0f) %6.2f (%4.0f) %8.2fx %7.2f (%4.0f)\n",
                  bf16 ? "bf16" : "int8", s.what, static_cast<long long>(s.M), static_cast<long long>(s.K),
                  static_cast<long long>(s.N), tiles, gop / tiles, onednn, gop / onednn, onednn / tiles, single,
                  gop / single);
    }
  }
  return 0;
}
