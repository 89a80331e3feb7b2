// The four CPU workloads of the speed issue on one model folder, timed with our engine:
//   a  forward, 1 video x 3 labels        b  forward, 1 video x 400 labels (zero-shot)
//   c  get_video_features, 8 videos       d  get_text_features, 400 labels
// Writes the exact inputs to a safetensors file for the PyTorch baseline
// (bench/cpu/xclip_torch.py) and prints JSON: per-workload times (in the order run), GFLOP
// counts, the GEMM peak at the start and just before each timing.
//
//   xclip_bench_workloads MODEL_DIR INPUTS_OUT THREADS REPEATS [f32|int8|bf16|auto]
// (auto: as the folder stores its weights, e.g. an `xclip convert` int8 folder)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/bench_util.h"
#include "io/safetensors.h"
#include "ops/cpu/kernels.h"
#include "ops/gemm.h"
#include "xclip/xclip.h"

namespace {

using Clock = std::chrono::steady_clock;

// Multiply-adds x 2, counted from the config (message token included).
struct Flops {
  double vision_per_video, text_per_token_layerless, head_per_text;
  const xclip::XCLIPConfig& c;
  double text(std::int64_t texts, std::int64_t len) const {
    const auto& t = c.text_config;
    const double d = t.hidden_size, l = static_cast<double>(len);
    return texts * (t.num_hidden_layers *
                        (2 * l * d * 3 * d + 4 * l * l * d + 2 * l * d * d + 4 * l * d * t.intermediate_size) +
                    2 * d * c.projection_dim);
  }
};

double vision_flops(const xclip::XCLIPConfig& c, bool with_prompt_features) {
  const auto& v = c.vision_config;
  const double dv = v.hidden_size, dp = c.projection_dim, grid = v.image_size / v.patch_size, p = grid * grid,
               s = p + 2;
  double frame = 2 * p * (v.num_channels * v.patch_size * v.patch_size) * dv;
  frame += v.num_hidden_layers * (2 * s * dv * 3 * dv + 4 * s * s * dv + 2 * s * dv * dv +
                                  4 * s * dv * v.intermediate_size + 2 * dv * dv + 8 * dv * dv + 4 * v.num_frames * dv);
  frame += 2 * dv * dp;
  const double t = v.num_frames;
  const double mit =
      v.mit_num_hidden_layers * (2 * t * dp * 4 * dp + 4 * t * t * dp + 4 * t * dp * v.mit_intermediate_size);
  return t * frame + mit + (with_prompt_features ? 2 * p * dv * dp : 0.0);
}

double head_flops(const xclip::XCLIPConfig& c, std::int64_t texts) {
  const double dp = c.projection_dim, p = (c.vision_config.image_size / c.vision_config.patch_size) *
                                          (c.vision_config.image_size / c.vision_config.patch_size);
  return c.prompt_layers *
         (texts * 2 * dp * dp * 2 + 2 * 2 * p * dp * dp + 4.0 * texts * p * dp + texts * 2 * dp * 4 * dp * 2);
}

// GFLOP/s of the best of `runs` float32 1024³ products: the GEMM peak of this machine now.
double gemm_peak(int runs = 6) {
  const std::int64_t n = 1024;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  double best = 1e30;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    xclip::ops::gemm_f32(true, n, n, n, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return 2.0 * n * n * n / best / 1e9;
}

struct Timed {
  std::vector<double> times_ms;
  // The GEMM peak measured just before each timing (best of two 1024³ products), in the same
  // order: a shared machine's speed moves by tens of percent within minutes, so each timing
  // is compared with the machine's speed at that moment rather than at the start of the run.
  std::vector<double> peak_gflops;
};

template <class F>
Timed time_ms(int repeats, F f) {
  f();  // warm-up: grows the arena
  Timed t;
  for (int i = 0; i < repeats; ++i) {
    t.peak_gflops.push_back(gemm_peak(2));
    const auto t0 = Clock::now();
    f();
    t.times_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: xclip_bench_workloads MODEL_DIR INPUTS_OUT THREADS REPEATS\n");
    return 2;
  }
  try {
    const std::string dir = argv[1];
    xclip::LoadOptions load;
    load.num_threads = std::stoi(argv[3]);
    const std::string weights = argc > 5 ? argv[5] : "f32";
    if (weights == "int8") load.weights = xclip::WeightType::Int8;
    if (weights == "f32") load.weights = xclip::WeightType::F32;
    if (weights == "bf16") load.weights = xclip::WeightType::Bf16;
    const int repeats = std::stoi(argv[4]);
    const auto t_load = Clock::now();
    auto model = xclip::Model::load(dir, load);
    const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t_load).count();
    const xclip::XCLIPConfig& c = model->config();
    const xclip::Tokenizer tok = xclip::Tokenizer::from_folder(dir);
    xclip::TokenizeOptions pad;
    pad.padding = xclip::Padding::Longest;
    pad.truncation = true;
    const auto [ids3, mask3] = tok.encode_to_tensors({"playing sports", "eating spaghetti", "go shopping"}, pad);
    const auto [ids400, mask400] = tok.encode_to_tensors(xclip::bench::labels400(), pad);
    const std::int64_t t = c.vision_config.num_frames, s = c.vision_config.image_size;
    xclip::Tensor video8 = xclip::Tensor::empty(xclip::DType::F32, {8, t, 3, s, s});
    std::mt19937 rng(0);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (std::int64_t i = 0; i < video8.numel(); ++i) video8.mutable_data<float>()[i] = dist(rng);
    const xclip::Tensor video1 =
        xclip::Tensor::from_values<float>(xclip::DType::F32, {1, t, 3, s, s}, video8.data<float>());
    xclip::io::write_safetensors(argv[2], {{"ids3", ids3},
                                           {"mask3", mask3},
                                           {"ids400", ids400},
                                           {"mask400", mask400},
                                           {"video1", video1},
                                           {"video8", video8}});

    xclip::Session session(model);
    nlohmann::ordered_json out;
    out["isa"] = xclip::cpu::kernels().isa;
    out["gemm"] = xclip::ops::gemm_backend();
    out["int8_products"] = xclip::int8_products_exact() ? "int8" : "float32";
    out["threads"] = model->num_threads();
    const xclip::WeightType resolved = model->weights();
    out["weights"] =
        resolved == xclip::WeightType::Int8 ? "int8" : (resolved == xclip::WeightType::Bf16 ? "bf16" : "f32");
    out["load_ms"] = load_ms;
    out["gemm_peak_gflops"] = gemm_peak();
    const double v1 = vision_flops(c, true), v8 = 8 * vision_flops(c, false);
    const Flops f{0, 0, 0, c};
    out["gflop"] = {{"a_forward_1v3t", (v1 + f.text(3, ids3.dim(1)) + head_flops(c, 3)) / 1e9},
                    {"b_zero_shot_1v400t", (v1 + f.text(400, ids400.dim(1)) + head_flops(c, 400)) / 1e9},
                    {"c_video_features_8v", v8 / 1e9},
                    {"d_text_features_400t", f.text(400, ids400.dim(1)) / 1e9},
                    {"vision_only_1v", vision_flops(c, false) / 1e9}};
    // The first forward after load (int8: includes reordering the weights for oneDNN once).
    const auto t_first = Clock::now();
    session.forward({ids3, mask3, video1});
    out["first_forward_ms"] = std::chrono::duration<double, std::milli>(Clock::now() - t_first).count();
    const auto record = [&](const char* name, const Timed& t) {
      out["times_ms"][name] = t.times_ms;
      out["peak_gflops_before"][name] = t.peak_gflops;
    };
    record("a_forward_1v3t", time_ms(repeats, [&] { session.forward({ids3, mask3, video1}); }));
    record("b_zero_shot_1v400t", time_ms(repeats, [&] { session.forward({ids400, mask400, video1}); }));
    record("c_video_features_8v", time_ms(repeats, [&] { session.get_video_features(video8); }));
    record("d_text_features_400t", time_ms(repeats, [&] { session.get_text_features(ids400, mask400); }));
    record("vision_only_1v", time_ms(repeats, [&] { session.get_video_features(video1); }));
    std::printf("%s\n", out.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xclip_bench_workloads: %s\n", e.what());
    return 1;
  }
  return 0;
}
