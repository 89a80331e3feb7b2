// C++ side of the Python overhead benchmark: get_video_features on a batch of videos of
// deterministic pixels, one timed call per line read from stdin (run_python_bench.py
// alternates these calls with the same call from Python, so both see the same machine load).
// usage: xclip_bench_video_features MODEL_DIR VIDEOS THREADS
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "xclip/xclip.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL_DIR VIDEOS THREADS\n", argv[0]);
    return 2;
  }
  const int videos = std::atoi(argv[2]);
  xclip::LoadOptions options;
  options.num_threads = std::atoi(argv[3]);
  auto model = xclip::Model::load(argv[1], options);
  const auto& v = model->config().vision_config;
  xclip::Tensor pixels = xclip::Tensor::empty(xclip::DType::F32, {videos, v.num_frames, 3, v.image_size, v.image_size});
  float* p = pixels.mutable_data<float>();
  for (std::int64_t i = 0; i < pixels.numel(); ++i) p[i] = static_cast<float>((i * 7919) % 2001) / 1000.0f - 1.0f;
  xclip::Session session(model);
  session.get_video_features(pixels);  // warm-up: the arena grows once
  std::printf("ready\n");
  std::fflush(stdout);
  for (std::string line; std::getline(std::cin, line);) {
    const auto t0 = std::chrono::steady_clock::now();
    session.get_video_features(pixels);
    std::printf("%.3f\n", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    std::fflush(stdout);
  }
  return 0;
}
