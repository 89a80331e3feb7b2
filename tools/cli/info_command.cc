// xclip info: what a model folder holds and how xclip will run it.
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "command_spec.h"
#include "commands.h"
#include "xclip/xclip.h"

namespace xclip::cli {

namespace {

const CommandSpec kInfo = {"xclip info --model ID|DIR [options]",
                           "Loads the model and prints JSON: folder, the configuration's main sizes, what the linear\n"
                           "layers run in with --dtype (default auto), and the int8 self-check that `xclip convert`\n"
                           "recorded (null for a folder it did not write).",
                           model_option("required") + dtype_option() +
                               OptionList{{"check", "int8|bf16",
                                           "also run convert's self-check now for that precision (8 synthetic\n"
                                           "videos x 400 prompts against float32) and print it as \"check\""}} +
                               quiet_option("no download progress"),
                           "example:\n"
                           "  xclip info --model models/xclip-base-patch32-int8\n"
                           "  xclip info --model models/xclip-base-patch32 --check bf16"};

}  // namespace

int run_info(int argc, char** argv) {
  const Args args = parse_args(kInfo, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kInfo);
    return 0;
  }
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals()[0] + "'");
  LoadOptions options;
  options.weights = parse_dtype(args);
  options.hub.progress = !args.flag("quiet");
  const auto model = Model::load(args.required("model"), options);
  const XCLIPConfig& c = model->config();
  nlohmann::ordered_json out;
  out["path"] = model->path();
  out["runs_in"] = weight_type_name(model->weights());
  out["config"] = {{"projection_dim", c.projection_dim},
                   {"text", {{"hidden_size", c.text_config.hidden_size}, {"layers", c.text_config.num_hidden_layers}}},
                   {"vision",
                    {{"hidden_size", c.vision_config.hidden_size},
                     {"layers", c.vision_config.num_hidden_layers},
                     {"patch_size", c.vision_config.patch_size},
                     {"image_size", c.vision_config.image_size},
                     {"num_frames", c.vision_config.num_frames}}}};
  const std::optional<ConversionCheck> check = read_conversion_check(model->path());
  out["int8_check"] = check ? nlohmann::ordered_json::parse(check->to_json()) : nlohmann::ordered_json();
  // What int8 weights are multiplied with here (see xclip::int8_products_exact).
  out["int8_products_here"] = int8_products_exact() ? "int8" : "float32 (this CPU's int8 kernels saturate: no VNNI)";
  if (args.has("check")) {
    const std::string precision = args.get("check");
    if (precision != "int8" && precision != "bf16")
      throw UsageError("--check takes int8 or bf16, not '" + precision + "'");
    const ConversionCheck now =
        check_precision(model->path(), precision == "int8" ? WeightType::Int8 : WeightType::Bf16);
    out["check"] = nlohmann::ordered_json::parse(now.to_json());
    out["check"]["precision"] = precision;
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace xclip::cli
