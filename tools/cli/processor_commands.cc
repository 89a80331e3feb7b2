// xclip tokenize / xclip preprocess: the two halves of XCLIPProcessor from the command line.
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "command_spec.h"
#include "commands.h"
#include "output_formats.h"
#include "xclip/xclip.h"

namespace xclip::cli {

namespace {

const CommandSpec kTokenize = {
    "xclip tokenize --model DIR [options] (TEXT... | --texts-json FILE)",
    "Tokenizes texts with the model folder's CLIP tokenizer (tokenizer.json, or vocab.json +\n"
    "merges.txt) exactly as transformers' CLIPTokenizerFast, and prints JSON:\n"
    "  {\"input_ids\": [[...], ...], \"attention_mask\": [[...], ...]}  (+ \"decoded\" with --decode)",
    model_option("required") +
        OptionList{{"padding", "longest|max_length|do_not_pad", "(default do_not_pad)"},
                   {"max-length", "N", "length for truncation / max_length padding (default model_max_length, 77)"},
                   {"truncation", "", "cut long texts to max-length, keeping the end token"},
                   {"texts-json", "FILE", "a JSON list of strings instead of TEXT arguments"},
                   {"decode", "", "also decode the ids back to text (special tokens skipped)"}},
    "example:\n"
    "  xclip tokenize --model models/xclip-base-patch32 --padding longest \"playing sports\" \"eating spaghetti\""};

const CommandSpec kPreprocess = {
    "xclip preprocess --model DIR --frames IN.safetensors --outputs OUT.safetensors [options]",
    "Runs the model folder's VideoMAEImageProcessor (preprocessor_config.json) on `frames`\n"
    "(U8 [T, H, W, 3]; 1 or 4 channels are converted to RGB) and writes `pixel_values`\n"
    "(F32 [1, T, 3, h, w]), as transformers' XCLIPProcessor(videos=...) does.",
    model_option("required") + OptionList{{"frames", "IN.safetensors", "U8 frames, as `xclip frames` writes them"},
                                          {"outputs", "OUT.safetensors", "where pixel_values go"},
                                          {"backend", "torchvision|pil",
                                           "reproduce transformers 5.x (torchvision, default) or 4.x (PIL) resizing"}},
    "example:\n"
    "  xclip preprocess --model models/xclip-base-patch32 --frames frames.safetensors --outputs pixels.safetensors"};

std::vector<std::string> read_texts_json(const std::string& path) {
  const nlohmann::json j = parse_json_file(path);
  if (!j.is_array()) throw FormatError(path + ": expected a JSON list of strings");
  std::vector<std::string> texts;
  for (const auto& t : j) {
    if (!t.is_string()) throw FormatError(path + ": expected a JSON list of strings, found " + t.dump());
    texts.push_back(t.get<std::string>());
  }
  return texts;
}

}  // namespace

int run_tokenize(int argc, char** argv) {
  const Args args = parse_args(kTokenize, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kTokenize);
    return 0;
  }
  const std::string model = args.required("model");
  TokenizeOptions options;
  const std::string padding = args.get("padding", "do_not_pad");
  if (padding == "longest")
    options.padding = Padding::Longest;
  else if (padding == "max_length")
    options.padding = Padding::MaxLength;
  else if (padding != "do_not_pad")
    throw UsageError("--padding must be longest, max_length or do_not_pad");
  options.truncation = args.flag("truncation");
  if (args.has("max-length")) options.max_length = args.get_int("max-length", 77);
  if (args.has("texts-json") && !args.positionals().empty())
    throw UsageError("give texts as arguments or --texts-json, not both");
  const std::vector<std::string> texts =
      args.has("texts-json") ? read_texts_json(args.get("texts-json")) : args.positionals();
  if (texts.empty()) throw UsageError("no texts given");

  const Tokenizer tokenizer = Tokenizer::from_folder(model);
  const std::vector<Encoding> enc = tokenizer.encode_batch(texts, options);
  nlohmann::json out;
  out["input_ids"] = nlohmann::json::array();
  out["attention_mask"] = nlohmann::json::array();
  for (const Encoding& e : enc) {
    out["input_ids"].push_back(e.input_ids);
    out["attention_mask"].push_back(e.attention_mask);
  }
  if (args.flag("decode")) {
    out["decoded"] = nlohmann::json::array();
    for (const Encoding& e : enc) out["decoded"].push_back(tokenizer.decode(e.input_ids, true));
  }
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

int run_preprocess(int argc, char** argv) {
  const Args args = parse_args(kPreprocess, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kPreprocess);
    return 0;
  }
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals()[0] + "'");
  const std::string model = args.required("model"), frames_path = args.required("frames"),
                    out = args.required("outputs");
  const std::string backend_name = args.get("backend", "torchvision");
  if (backend_name != "torchvision" && backend_name != "pil") throw UsageError("--backend must be torchvision or pil");
  const ResizeBackend backend = backend_name == "pil" ? ResizeBackend::Pil : ResizeBackend::Torchvision;
  const SafetensorsContents frames = load_safetensors(frames_path);
  const VideoProcessor processor = VideoProcessor::from_folder(model, backend);
  save_safetensors(out, {{"pixel_values", processor.preprocess({frames.at("frames")})}});
  return 0;
}

}  // namespace xclip::cli
