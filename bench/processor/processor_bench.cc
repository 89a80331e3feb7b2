// Times XCLIPProcessor's two halves on the workload of the processor issue: 8 frames of
// 1920x1080 -> 224x224 pixel values, and 400 label prompts -> ids. Prints milliseconds
// (median of repeated runs); run_processor_bench.sh compares with Pillow + numpy.
//
//   xclip_bench_processor MODEL_DIR [--backend torchvision|pil] [--iters N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/bench_util.h"
#include "xclip/xclip.h"


// The same deterministic frames and prompts as processor_baseline.py.
xclip::Tensor bench_frames() {
  const int t = 8, h = 1080, w = 1920;
  xclip::Tensor frames = xclip::Tensor::empty(xclip::DType::U8, {t, h, w, 3});
  std::uint8_t* p = frames.mutable_data<std::uint8_t>();
  for (int f = 0; f < t; ++f)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          p[((static_cast<std::size_t>(f) * h + y) * w + x) * 3 + c] = static_cast<std::uint8_t>((x * (c + 1) + y * 3 + f * 17 + ((x * y) % 7)) & 255);
  return frames;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: xclip_bench_processor MODEL_DIR [--backend torchvision|pil] [--iters N]\n");
    return 2;
  }
  const std::string model = argv[1];
  xclip::ResizeBackend backend = xclip::ResizeBackend::Torchvision;
  int iters = 7;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--backend") backend = v == "pil" ? xclip::ResizeBackend::Pil : xclip::ResizeBackend::Torchvision;
    else if (k == "--iters") iters = std::stoi(v);
  }
  try {
    const xclip::XCLIPProcessor processor = xclip::XCLIPProcessor::from_folder(model, backend);
    const xclip::Tensor frames = bench_frames();
    const std::vector<std::string> prompts = xclip::bench::labels400();
    xclip::TokenizeOptions options;
    options.padding = xclip::Padding::Longest;
    const double video_ms = xclip::bench::median_ms(iters, [&] { processor.video_processor().preprocess({frames}); });
    // A fresh tokenizer per run, so that its word cache starts empty (loading is not timed).
    std::vector<xclip::Tokenizer> tokenizers;
    for (int i = 0; i < iters; ++i) tokenizers.push_back(xclip::Tokenizer::from_folder(model));
    int next = 0;
    const double text_ms = xclip::bench::median_ms(iters, [&] { tokenizers[next++].encode_to_tensors(prompts, options); });
    const double load_ms = xclip::bench::median_ms(3, [&] { xclip::Tokenizer::from_folder(model); });
    std::printf("{\"preprocess_8x1080p_ms\": %.2f, \"tokenize_400_ms\": %.2f, \"tokenizer_load_ms\": %.2f}\n", video_ms,
                text_ms, load_ms);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xclip_bench_processor: %s\n", e.what());
    return 1;
  }
  return 0;
}
