// End-to-end timing of XCLIPModel.forward: one video of num_frames frames and 3 texts on a
// model folder (default: the synthetic base-patch32 of the build). Prints milliseconds per
// video, achieved GFLOP/s, and the GEMM peak measured in the same run for reference.
//
//   xclip_bench_forward [--model DIR] [--videos N] [--texts N] [--iters N] [--threads N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "ops/cpu/kernels.h"
#include "ops/gemm.h"
#include "xclip/xclip.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Multiply-adds x 2 of one forward, counted from the config (the message token included).
double forward_flops(const xclip::XCLIPConfig& c, std::int64_t videos, std::int64_t texts, std::int64_t text_len) {
  const auto& v = c.vision_config;
  const auto& t = c.text_config;
  const double dv = v.hidden_size, iv = v.intermediate_size, dp = c.projection_dim;
  const double grid = v.image_size / v.patch_size, patches = grid * grid, s = patches + 2;  // + class + message
  const double frames = static_cast<double>(videos) * v.num_frames;
  double vision = 2 * patches * (v.num_channels * v.patch_size * v.patch_size) * dv;
  const double layer = 2 * s * dv * 3 * dv + 4 * s * s * dv + 2 * s * dv * dv + 4 * s * dv * iv  // self-attn + MLP
                       + 2 * dv * dv + 8 * dv * dv + 4 * v.num_frames * dv;                    // message token
  vision += v.num_hidden_layers * layer + 2 * dv * dp;
  const double l = text_len, dt = t.hidden_size;
  const double text = t.num_hidden_layers * (2 * l * dt * 3 * dt + 4 * l * l * dt + 2 * l * dt * dt + 4 * l * dt * t.intermediate_size) +
                      2 * dt * dp;
  const double mit_layer = 2 * v.num_frames * dp * 4 * dp + 4 * v.num_frames * v.num_frames * dp + 4 * v.num_frames * dp * v.mit_intermediate_size;
  const double prompt = c.prompt_layers * (2 * texts * dp * dp * 2 + 2 * 2 * patches * dp * dp + 4 * texts * patches * dp +
                                           2 * texts * dp * 4 * dp * 2);
  return frames * vision + texts * text + videos * (v.mit_num_hidden_layers * mit_layer + prompt + 2 * patches * dv * dp);
}

double gemm_peak_gflops() {
  const std::int64_t n = 1024;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  xclip::ops::gemm_f32(true, n, n, n, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    xclip::ops::gemm_f32(true, n, n, n, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    best = std::min(best, seconds_since(t0));
  }
  return 2.0 * n * n * n / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir = XCLIP_BENCH_DEFAULT_MODEL;
  int videos = 1, texts = 3, iters = 10, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], val = argv[i + 1];
    if (k == "--model") model_dir = val;
    else if (k == "--videos") videos = std::atoi(val.c_str());
    else if (k == "--texts") texts = std::atoi(val.c_str());
    else if (k == "--iters") iters = std::atoi(val.c_str());
    else if (k == "--threads") threads = std::atoi(val.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    xclip::LoadOptions load;
    load.num_threads = threads;
    const auto t_load = Clock::now();
    auto model = xclip::Model::load(model_dir, load);
    const double load_s = seconds_since(t_load);
    const auto& c = model->config();
    xclip::Session session(model);

    const std::int64_t frames = c.vision_config.num_frames, size = c.vision_config.image_size;
    xclip::Tensor pixels = xclip::Tensor::empty(xclip::DType::F32, {videos, frames, 3, size, size});
    std::mt19937 rng(0);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (std::int64_t i = 0; i < pixels.numel(); ++i) pixels.mutable_data<float>()[i] = dist(rng);
    const std::int64_t text_len = 6;
    std::vector<std::int64_t> ids;
    for (int t = 0; t < texts; ++t) {
      ids.push_back(49406);
      for (int j = 1; j < text_len - 1; ++j) ids.push_back(320 + 37 * t + j);
      ids.push_back(49407);
    }
    const xclip::Tensor input_ids = xclip::Tensor::from_values<std::int64_t>(xclip::DType::I64, {texts, text_len}, ids.data());

    session.forward({input_ids, xclip::Tensor(), pixels});  // warm-up: grows the arena
    std::vector<double> times;
    for (int i = 0; i < iters; ++i) {
      const auto t0 = Clock::now();
      session.forward({input_ids, xclip::Tensor(), pixels});
      times.push_back(seconds_since(t0));
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    const double flops = forward_flops(c, videos, texts, text_len);
    const double peak = gemm_peak_gflops();
    std::printf("model            %s\n", model_dir.c_str());
    std::printf("isa / gemm       %s / %s, %d threads\n", xclip::cpu::kernels().isa, xclip::ops::gemm_backend(),
                xclip::num_threads());
    std::printf("workload         %d video(s) x %lld frames x %lldpx, %d texts\n", videos, static_cast<long long>(frames),
                static_cast<long long>(size), texts);
    std::printf("load             %.3f s\n", load_s);
    std::printf("forward          median %.1f ms (min %.1f, max %.1f, %d runs)\n", median * 1e3, times.front() * 1e3,
                times.back() * 1e3, iters);
    std::printf("per video        %.1f ms\n", median * 1e3 / videos);
    std::printf("throughput       %.1f GFLOP/s (%.2f GFLOP per forward)\n", flops / median / 1e9, flops / 1e9);
    std::printf("gemm peak        %.1f GFLOP/s (1024^3 sgemm, same run) -> forward at %.0f%% of it\n", peak,
                100.0 * flops / median / 1e9 / peak);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xclip_bench_forward: %s\n", e.what());
    return 1;
  }
  return 0;
}
