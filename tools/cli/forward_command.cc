// xclip forward: run XCLIPModel on tensors from a safetensors file and write every output
// under transformers' names, for parity checks against Hugging Face.
#include <iostream>

#include "args.h"
#include "command_spec.h"
#include "commands.h"
#include "xclip/xclip.h"

namespace xclip::cli {

namespace {

const CommandSpec kForward = {
    "xclip forward --model DIR|HUB_ID --inputs IN.safetensors --outputs OUT.safetensors [options]",
    "Runs XCLIPModel on input_ids (I64 [texts, length]), attention_mask (I64, optional) and\n"
    "pixel_values (F32 [videos, frames, 3, H, W]) read from IN, and writes every output F32\n"
    "tensor under transformers' names (logits_per_video, text_embeds, video_embeds,\n"
    "text_model_output/..., vision_model_output/..., mit_output/...).",
    model_option("required") +
        OptionList{{"inputs", "IN.safetensors", "input_ids, attention_mask, pixel_values"},
                   {"outputs", "OUT.safetensors", "where the outputs go"},
                   {"hidden-states", "", "also write */hidden_states/<i>"},
                   {"attentions", "", "also write */attentions/<i>"},
                   {"loss", "", "also write the contrastive loss (needs texts == videos)"},
                   {"interpolate-pos-encoding", "", "accept frames of another size than the model's image_size"},
                   {"interpolate-frames", "",
                    "accept another frame count than num_frames (MIT position\n"
                    "embeddings resized linearly along time)"},
                   {"features", "text|video",
                    "only get_text_features / get_video_features\n"
                    "(writes text_features or video_features)"}} +
        threads_option("intra-op threads (default: all cores)") + dtype_option() + quiet_option("no download progress"),
    "example:\n"
    "  xclip forward --model models/xclip-base-patch32 --inputs in.safetensors --outputs out.safetensors "
    "--hidden-states"};

Tensor optional_input(const SafetensorsContents& file, const std::string& name) {
  return file.contains(name) ? file.at(name) : Tensor();
}

}  // namespace

int run_forward(int argc, char** argv) {
  const Args args = parse_args(kForward, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kForward);
    return 0;
  }
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals()[0] + "'");
  const std::string model_dir = args.required("model");
  const std::string inputs_path = args.required("inputs");
  const std::string outputs_path = args.required("outputs");
  const std::string features = args.get("features");
  if (!features.empty() && features != "text" && features != "video")
    throw UsageError("--features must be 'text' or 'video', got '" + features + "'");

  LoadOptions load_options;
  load_options.num_threads = args.get_int("threads", 0);
  load_options.weights = parse_dtype(args);
  load_options.hub.progress = !args.flag("quiet");
  load_options.interpolate_frames = args.flag("interpolate-frames");
  const SafetensorsContents inputs = load_safetensors(inputs_path);
  auto model = Model::load(model_dir, load_options);
  Session session(model);

  std::vector<std::pair<std::string, Tensor>> outputs;
  if (features == "text") {
    outputs.emplace_back("text_features",
                         session.get_text_features(inputs.at("input_ids"), optional_input(inputs, "attention_mask")));
  } else if (features == "video") {
    outputs.emplace_back("video_features",
                         session.get_video_features(inputs.at("pixel_values"), args.flag("interpolate-pos-encoding")));
  } else {
    ForwardInputs in;
    in.input_ids = inputs.at("input_ids");
    in.attention_mask = optional_input(inputs, "attention_mask");
    in.pixel_values = inputs.at("pixel_values");
    ForwardOptions options;
    options.output_hidden_states = args.flag("hidden-states");
    options.output_attentions = args.flag("attentions");
    options.return_loss = args.flag("loss");
    options.interpolate_pos_encoding = args.flag("interpolate-pos-encoding");
    outputs = session.forward(in, options).items();
  }
  save_safetensors(outputs_path, outputs, {{"producer", "xclip.cpp " XCLIP_VERSION_STRING}});
  return 0;
}

}  // namespace xclip::cli
