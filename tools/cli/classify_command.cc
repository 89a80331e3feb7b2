// xclip classify / embed / embed-text: the main jobs.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "command_spec.h"
#include "commands.h"
#include "output_formats.h"
#include "video_sampling.h"
#include "xclip/xclip.h"

namespace xclip::cli {

namespace {

// What classify and embed share: the model, how videos are sampled and decoded, batching.
OptionList video_workflow_options() {
  return model_option() + sampling_options("frames per video (default: the model's num_frames)") +
         OptionList{{"interpolate-frames", "",
                     "allow another --frames than the model's: its MIT position embeddings\n"
                     "are resized linearly along time (the released checkpoints were\n"
                     "trained at 8, 16 or 32 frames; other counts are an approximation)"}} +
         seek_option() +
         OptionList{{"batch", "N", "videos per forward pass (default 4)"},
                    {"backend", "torchvision|pil", "resize arithmetic of transformers 5.x (default) or 4.x"}} +
         threads_option() + dtype_option() + decode_limit_options() + quiet_option();
}

// Where embed and embed-text write.
OptionList embedding_file_options() {
  return {{"output", "FILE", ".safetensors, .npy or .jsonl"}, {"normalize", "", "L2-normalise each embedding"}};
}

const CommandSpec kClassify = {
    "xclip classify VIDEO... (--labels \"a,b,c\" | --labels-file FILE) [options]",
    "Zero-shot classification: ranks the labels for each video by probability (softmax of\n"
    "logits_per_video). Label prompts are encoded once; decoding runs ahead of inference.",
    label_options("comma-separated labels") +
        OptionList{{"template", "\"a video of {}.\"", "prompt made of each label ({} is replaced; default \"{}\")"},
                   {"top", "K", "only the K most probable labels (default: all)"},
                   {"format", "text|json|csv", "output format (default text)"}} +
        video_workflow_options(),
    "exit codes: 0 all videos classified, 1 some failed (reported on stderr), 2 usage error.\n\n"
    "example:\n"
    "  xclip classify clip.mp4 --labels \"playing sports,eating spaghetti,go shopping\" --model "
    "microsoft/xclip-base-patch32"};

const CommandSpec kEmbed = {"xclip embed VIDEO... --output FILE [options]",
                            "Video embeddings (get_video_features) for each video, written by the extension of FILE:\n"
                            "  .safetensors  video_embeds F32 [N, D], metadata \"videos\" = JSON list of paths\n"
                            "  .npy          F32 [N, D], and FILE.txt with one video path per line\n"
                            "  .jsonl        {\"video\": PATH, \"embedding\": [...]} per line",
                            embedding_file_options() + video_workflow_options(),
                            "example:\n  xclip embed a.mp4 b.mp4 --output videos.safetensors --normalize"};

const CommandSpec kEmbedText = {
    "xclip embed-text TEXT... --output FILE [options]",
    "Text embeddings (get_text_features), written like `xclip embed` (field \"text\" in .jsonl,\n"
    "metadata \"texts\" in .safetensors).",
    embedding_file_options() +
        OptionList{{"template", "\"a video of {}.\"", "prompt made of each text ({} is replaced; default \"{}\")"},
                   {"texts-file", "FILE", "one text per line instead of TEXT arguments"}} +
        model_option() + threads_option() + dtype_option() + quiet_option("no download progress"),
    "example:\n  xclip embed-text \"playing sports\" \"eating spaghetti\" --output labels.npy"};

WorkflowOptions workflow_options(const Args& args) {
  WorkflowOptions o;
  o.num_threads = args.get_int("threads", 0);
  o.dtype = parse_dtype(args);
  const std::string backend = args.get("backend", "torchvision");
  if (backend != "torchvision" && backend != "pil") throw UsageError("--backend must be torchvision or pil");
  o.backend = backend == "pil" ? ResizeBackend::Pil : ResizeBackend::Torchvision;
  o.sampling = parse_sampling_options(args, 0);
  o.interpolate_frames = args.flag("interpolate-frames");
  o.seek = parse_seek_mode(args);
  o.decode_limits = parse_decode_limits(args);
  o.batch_size = std::max(1, args.get_int("batch", 4));
  o.text_template = args.get("template", "{}");
  o.normalize = args.flag("normalize");
  o.hub.progress = !args.flag("quiet");
  return o;
}

// Options the library refuses (a frame count the model cannot take, ...) are usage errors.
Workflow make_workflow(const Args& args) {
  const WorkflowOptions options = workflow_options(args);
  const std::string model = args.get("model", kDefaultModel);
  try {
    return Workflow(model, options);
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());
  }
}

// Reports skipped videos and repeated frames on stderr around the progress line.
struct Reporter {
  ProgressLine line;
  explicit Reporter(bool quiet) : line(quiet) {}
  // True when the result has values to print.
  bool check(const VideoResult& r) {
    if (!r.ok()) {
      line.interrupt();
      std::cerr << "xclip: skipping " << r.path << ": " << r.error << "\n";
      return false;
    }
    if (r.repeated_frames) {
      line.interrupt();
      std::cerr << "note: " << r.path << " has fewer frames than sampled; frames repeat\n";
    }
    return true;
  }
};

}  // namespace

int run_classify(int argc, char** argv) {
  const Args args = parse_args(kClassify, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kClassify);
    return 0;
  }
  if (args.positionals().empty()) throw UsageError("no videos given");
  if (!args.has("labels") && !args.has("labels-file")) throw UsageError("give --labels or --labels-file");
  const std::vector<std::string> labels = parse_labels(args);
  if (labels.empty()) throw UsageError("no labels");
  const std::string format = args.get("format", "text");
  if (format != "text" && format != "json" && format != "csv") throw UsageError("--format must be text, json or csv");
  const int top = std::min<int>(args.get_int("top", static_cast<int>(labels.size())), static_cast<int>(labels.size()));

  Workflow workflow = make_workflow(args);
  Reporter reporter(args.flag("quiet"));
  nlohmann::ordered_json json_out = nlohmann::ordered_json::array();
  if (format == "csv") std::cout << "video,rank,label,probability\n";
  const std::size_t failures = workflow.classify(
      args.positionals(), labels,
      [&](const VideoResult& r) {
        if (!reporter.check(r)) return;
        const std::vector<LabelScore> ranked =
            rank_labels(labels, r.probabilities, r.logits, static_cast<std::size_t>(top));
        if (format == "text") {
          std::cout << r.path << "\n";
          for (const LabelScore& l : ranked) std::printf("  %.4f  %s\n", l.probability, l.label.c_str());
          std::fflush(stdout);
        } else if (format == "csv") {
          for (std::size_t k = 0; k < ranked.size(); ++k)
            std::cout << csv_field(r.path) << "," << k + 1 << "," << csv_field(ranked[k].label) << ","
                      << ranked[k].probability << "\n";
        } else {
          nlohmann::ordered_json entry = {{"video", r.path}, {"labels", nlohmann::ordered_json::array()}};
          for (const LabelScore& l : ranked)
            entry["labels"].push_back({{"label", l.label}, {"probability", l.probability}, {"logit", l.logit}});
          json_out.push_back(entry);
        }
      },
      [&](const WorkflowProgress& p) { reporter.line.update(p); });
  if (format == "json")
    std::cout << json_out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  return failures > 0 ? 1 : 0;
}

int run_embed(int argc, char** argv) {
  const Args args = parse_args(kEmbed, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kEmbed);
    return 0;
  }
  if (args.positionals().empty()) throw UsageError("no videos given");
  const std::string output = args.required("output");
  if (!is_embedding_file(output)) throw UsageError("--output must end in .safetensors, .npy or .jsonl");
  Workflow workflow = make_workflow(args);
  Reporter reporter(args.flag("quiet"));
  std::vector<std::vector<float>> rows;
  std::vector<std::string> names;
  const std::size_t failures = workflow.embed_videos(
      args.positionals(),
      [&](const VideoResult& r) {
        if (!reporter.check(r)) return;
        rows.push_back(r.embedding);
        names.push_back(r.path);
      },
      [&](const WorkflowProgress& p) { reporter.line.update(p); });
  if (!rows.empty()) write_embeddings(output, stack_rows(rows), names, "video");
  return failures > 0 ? 1 : 0;
}

int run_embed_text(int argc, char** argv) {
  const Args args = parse_args(kEmbedText, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kEmbedText);
    return 0;
  }
  const std::string output = args.required("output");
  std::vector<std::string> texts = args.has("texts-file") ? read_lines(args.get("texts-file")) : args.positionals();
  if (texts.empty()) throw UsageError("no texts given");
  Workflow workflow = make_workflow(args);
  write_embeddings(output, workflow.embed_texts(texts), texts, "text");
  return 0;
}

}  // namespace xclip::cli
