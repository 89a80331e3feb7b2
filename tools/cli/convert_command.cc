// xclip convert: rewrite a model folder once (int8 weights ready to load, or float32
// safetensors from pytorch_model.bin / F16 / BF16).
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "args.h"
#include "command_spec.h"
#include "commands.h"
#include "xclip/xclip.h"

namespace xclip::cli {

namespace {

const CommandSpec kConvert = {
    "xclip convert --model DIR|HUB_ID --output DIR [options]",
    "Writes DIR/model.safetensors with the weights converted, and copies config.json and the\n"
    "tokenizer / preprocessor files. An int8 folder loads ready to run (no quantization at\n"
    "load). Only xclip.cpp reads int8 folders (transformers does not).\n\n"
    "int8 checks itself first: the float32 model and the int8 one embed 8 synthetic videos and\n"
    "400 prompts; when an embedding drops below --min-cosine of float32's (checkpoints with\n"
    "outlier channels do that) nothing is written. The result is recorded in the folder\n"
    "(`xclip info` prints it) and every xclip command then runs the folder in int8 by default\n"
    "only if the check passed.",
    model_option("required") +
        OptionList{{"output", "DIR", "the folder to write"},
                   {"dtype", "int8|float32",
                    "int8: linear layers as per-channel int8 + float32 scales (default)\n"
                    "float32: every weight float32 (e.g. from pytorch_model.bin or bf16)"},
                   {"min-cosine", "C", "int8 self-check: embeddings within this cosine of float32's (default 0.999)"},
                   {"min-top1", "F", "and the same best prompt for this fraction of probe videos (default 0.99)"},
                   {"force", "",
                    "write the int8 folder even when the check fails (it then runs in\n"
                    "float32 unless --dtype int8 is asked for)"}} +
        threads_option("threads for quantizing (default: all cores)") + quiet_option("no download progress"),
    "example:\n"
    "  xclip convert --model microsoft/xclip-base-patch32 --output models/xclip-base-patch32-int8\n"
    "  xclip classify --model models/xclip-base-patch32-int8 video.mp4 --labels \"cooking,dancing\""};

double parse_fraction(const Args& args, const std::string& name, double fallback) {
  if (!args.has(name)) return fallback;
  const std::string text = args.get(name);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= 0.0 && v <= 1.0))
    throw UsageError("--" + name + " expects a number in [0, 1], got '" + text + "'");
  return v;
}

}  // namespace

int run_convert(int argc, char** argv) {
  const Args args = parse_args(kConvert, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kConvert);
    return 0;
  }
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals()[0] + "'");
  const std::string output = args.required("output");
  ConvertOptions options;
  options.num_threads = args.get_int("threads", 0);
  options.force = args.flag("force");
  options.min_cosine = parse_fraction(args, "min-cosine", options.min_cosine);
  options.min_top1 = parse_fraction(args, "min-top1", options.min_top1);
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
  const ConversionCheck check = convert_model(source, output, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "xclip convert: wrote " << output << "/model.safetensors (" << dtype << ") in " << seconds << " s\n";
  if (options.weights == WeightType::Int8) {
    std::cerr << "int8 self-check on " << check.videos << " videos x " << check.prompts
              << " prompts: min cosine to float32 " << check.min_video_cosine << " (videos), " << check.min_text_cosine
              << " (texts); top-1 agreement " << check.top1_agreement * 100 << " %; "
              << (check.passed ? "passed" : "FAILED (written because of --force; runs in float32 by default)") << "\n";
    if (check.products == "float32")
      std::cerr << "note: this CPU's int8 kernels are not exact (no VNNI), so the check multiplied the int8 weights in "
                   "float32; --dtype auto runs this folder in int8 only on CPUs that do the same. On a CPU with VNNI, "
                   "convert again there, or see `xclip info --model "
                << output << " --check int8` before asking for --dtype int8\n";
  }
  return 0;
}

}  // namespace xclip::cli
