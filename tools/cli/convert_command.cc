// xclip convert: rewrite a model folder once (int8 weights ready to load, or float32
// safetensors from pytorch_model.bin / F16 / BF16).
#include <chrono>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "xclip/xclip.h"

namespace xclip::cli {

namespace {

const char* kConvertHelp = R"(usage: xclip convert --model DIR|HUB_ID --output DIR [options]

Writes DIR/model.safetensors with the weights converted, and copies config.json and the
tokenizer / preprocessor files. An int8 folder loads ready to run (no quantization at
load); every xclip command then uses int8 for it by default. Only xclip.cpp reads int8
folders (transformers does not).

options:
  --dtype int8|f32   int8: linear layers as per-channel int8 + float32 scales (default)
                     f32: every weight float32 (e.g. from pytorch_model.bin or bf16)
  --threads N        threads for quantizing (default: all cores)
  --quiet            no download progress

example:
  xclip convert --model microsoft/xclip-base-patch32 --output models/xclip-base-patch32-int8
  xclip classify --model models/xclip-base-patch32-int8 video.mp4 --labels "cooking,dancing"
)";

}  // namespace

int run_convert(int argc, char** argv) {
  const Args args(argc, argv, 2, {"quiet", "help"}, {"model", "output", "dtype", "threads"});
  if (args.flag("help")) {
    std::cout << kConvertHelp;
    return 0;
  }
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals()[0] + "'");
  const std::string output = args.required("output");
  ConvertOptions options;
  options.num_threads = args.get_int("threads", 0);
  const std::string dtype = args.get("dtype", "int8");
  if (dtype == "int8") {
    options.weights = WeightType::Int8;
  } else if (dtype == "f32") {
    options.weights = WeightType::F32;
  } else {
    throw UsageError("--dtype must be int8 or f32, got '" + dtype + "'");
  }
  HubOptions hub;
  hub.progress = !args.flag("quiet");
  const std::string source = resolve_model(args.required("model"), hub);
  const auto start = std::chrono::steady_clock::now();
  convert_model(source, output, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "xclip convert: wrote " << output << "/model.safetensors (" << dtype << ") in " << seconds << " s\n";
  return 0;
}

}  // namespace xclip::cli
