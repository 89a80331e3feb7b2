// xclip classify / embed / embed-text: the main jobs.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "io/mmap_file.h"
#include "io/safetensors.h"
#include "video_pipeline.h"
#include "xclip/xclip.h"

namespace xclip::cli {

namespace {

const char* kClassifyHelp = R"(usage: xclip classify VIDEO... (--labels "a,b,c" | --labels-file FILE) [options]

Zero-shot classification: ranks the labels for each video by probability (softmax of
logits_per_video). Label prompts are encoded once; decoding runs ahead of inference.

options:
  --model ID|DIR        hub id (org/name[@revision]) or local folder (default microsoft/xclip-base-patch32)
  --labels "a,b,c"      comma-separated labels        --labels-file FILE   one label per line
  --template "a video of {}."   prompt made of each label ({} is replaced; default "{}")
  --top K               only the K most probable labels (default: all)
  --format text|json|csv        output format (default text)
  --frames N            frames per video (default: the model's num_frames)
  --sampling uniform|consecutive|random, --frame-sample-rate R, --seed S, --clips K (views averaged)
  --start S --end S     only frames shown between these times (seconds)
  --batch N             videos per forward pass (default 4)
  --threads N           CPU threads          --backend torchvision|pil   resize arithmetic
  --dtype auto|f32|int8|bf16
                        int8 linear layers: ~3-4x faster, embeddings within cosine 0.999;
                        bf16 (AVX512-BF16 CPUs): ~1.5x; default auto: int8 for a folder
                        written by `xclip convert`, else f32
  --quiet               no progress bar

exit codes: 0 all videos classified, 1 some failed (reported on stderr), 2 usage error.

example:
  xclip classify clip.mp4 --labels "playing sports,eating spaghetti,go shopping" --model microsoft/xclip-base-patch32
)";

const char* kEmbedHelp = R"(usage: xclip embed VIDEO... --output FILE [options]

Video embeddings (get_video_features) for each video, written by the extension of FILE:
  .safetensors  video_embeds F32 [N, D], metadata "videos" = JSON list of paths
  .npy          F32 [N, D], and FILE.txt with one video path per line
  .jsonl        {"video": PATH, "embedding": [...]} per line

options:
  --model ID|DIR, --normalize (L2), --frames N, --sampling ..., --clips K (views averaged),
  --batch N, --threads N, --backend torchvision|pil, --dtype auto|f32|int8|bf16, --quiet

example:
  xclip embed a.mp4 b.mp4 --output videos.safetensors --normalize
)";

const char* kEmbedTextHelp = R"(usage: xclip embed-text TEXT... --output FILE [options]

Text embeddings (get_text_features), written like `xclip embed` (field "text" in .jsonl,
metadata "texts" in .safetensors).

options:
  --model ID|DIR, --normalize (L2), --template "a video of {}.", --texts-file FILE (one per line),
  --dtype auto|f32|int8|bf16

example:
  xclip embed-text "playing sports" "eating spaghetti" --output labels.npy
)";

std::vector<std::string> read_lines(const std::string& path) {
  std::istringstream in(io::read_text_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    const auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

std::string apply_template(const std::string& tmpl, const std::string& label) {
  const auto at = tmpl.find("{}");
  return at == std::string::npos ? tmpl + " " + label : tmpl.substr(0, at) + label + tmpl.substr(at + 2);
}

// get_text_features of the prompts `template` makes of `texts` (padded, truncated to 77).
Tensor encode_texts(Session& session, const Tokenizer& tokenizer, const std::vector<std::string>& texts,
                    const std::string& tmpl) {
  std::vector<std::string> prompts;
  for (const std::string& t : texts) prompts.push_back(apply_template(tmpl, t));
  TokenizeOptions tok;
  tok.padding = Padding::Longest;
  tok.truncation = true;
  const auto [ids, mask] = tokenizer.encode_to_tensors(prompts, tok);
  return session.get_text_features(ids, mask);
}

struct Loaded {
  std::shared_ptr<const Model> model;
  std::unique_ptr<XCLIPProcessor> processor;
};

Loaded load(const Args& args) {
  const std::string dir = resolve_model(args.get("model", kDefaultModel));
  LoadOptions options;
  options.num_threads = args.get_int("threads", 0);
  options.weights = parse_dtype(args);
  const std::string backend = args.get("backend", "torchvision");
  if (backend != "torchvision" && backend != "pil") throw UsageError("--backend must be torchvision or pil");
  Loaded l;
  l.model = Model::load(dir, options);
  l.processor = std::make_unique<XCLIPProcessor>(
      XCLIPProcessor::from_folder(dir, backend == "pil" ? ResizeBackend::Pil : ResizeBackend::Torchvision));
  return l;
}

SamplingOptions sampling_for(const Args& args, const Model& model) {
  const int expected = model.config().vision_config.num_frames;
  if (args.has("frames") && args.has("num-frames")) throw UsageError("--frames and --num-frames are the same option");
  SamplingOptions s = parse_sampling_options(args, args.get_int("frames", expected));
  if (s.num_frames != expected && s.indices.empty())
    throw UsageError("this model takes " + std::to_string(expected) + " frames per video (--frames " +
                     std::to_string(s.num_frames) + " given)");
  return s;
}

void softmax(std::vector<double>& v) {
  const double m = *std::max_element(v.begin(), v.end());
  double sum = 0;
  for (double& x : v) sum += (x = std::exp(x - m));
  for (double& x : v) x /= sum;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Runs batches of prepared videos; calls emit(video, per-clip outputs) in input order.
template <class Run, class Emit>
int run_videos(const Args& args, const std::vector<std::string>& paths, const SamplingOptions& sampling,
               const VideoProcessor& processor, Run run, Emit emit) {
  const int batch = std::max(1, args.get_int("batch", 4));
  VideoPipeline pipeline(paths, sampling, processor);
  Progress progress(paths.size(), !args.flag("quiet"));
  int failures = 0;
  std::vector<PreparedVideo> pending;
  auto flush = [&]() {
    if (pending.empty()) return;
    std::vector<Tensor> clips;
    for (const PreparedVideo& v : pending) clips.insert(clips.end(), v.clips.begin(), v.clips.end());
    // Concatenate [1, T, 3, H, W] clips into one [clips, T, 3, H, W] batch.
    std::vector<std::int64_t> shape = clips.front().shape();
    shape[0] = static_cast<std::int64_t>(clips.size());
    Tensor pixels = Tensor::empty(DType::F32, shape);
    for (std::size_t i = 0; i < clips.size(); ++i)
      std::memcpy(static_cast<char*>(pixels.mutable_raw()) + i * clips[i].nbytes(), clips[i].raw(), clips[i].nbytes());
    const Tensor out = run(pixels);  // [clips, ...]
    std::size_t row = 0;
    for (const PreparedVideo& v : pending) {
      emit(v, out, row, v.clips.size());
      row += v.clips.size();
      progress.step();
    }
    pending.clear();
  };
  while (auto v = pipeline.next()) {
    if (!v->error.empty()) {
      progress.interrupt();
      std::cerr << "xclip: skipping " << v->path << ": " << v->error << "\n";
      progress.step();
      ++failures;
      continue;
    }
    if (v->repeated) {
      progress.interrupt();
      std::cerr << "note: " << v->path << " has fewer frames than sampled; frames repeat\n";
    }
    if (!pending.empty() && v->clips.front().shape() != pending.front().clips.front().shape()) flush();
    pending.push_back(std::move(*v));
    if (static_cast<int>(pending.size()) >= batch) flush();
  }
  flush();
  progress.finish();
  return failures;
}

std::string extension_of(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(dot);
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(t.dim(0)) + ", " +
                       std::to_string(t.dim(1)) + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw IoError(path + ": cannot write");
  out.write("\x93NUMPY\x01\x00", 8);
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  out.put(static_cast<char>(len & 0xff));
  out.put(static_cast<char>(len >> 8));
  out << header;
  out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  if (!out) throw IoError(path + ": write failed");
}

// embeddings [N, D] for `names` (video paths or texts) in the format FILE's extension picks.
void write_embeddings(const std::string& path, const Tensor& embeddings, const std::vector<std::string>& names,
                      const std::string& field) {
  const std::string ext = extension_of(path);
  if (ext == ".safetensors") {
    io::write_safetensors(path, {{field + "_embeds", embeddings}}, {{field + "s", nlohmann::json(names).dump()}});
  } else if (ext == ".npy") {
    write_npy(path, embeddings);
    std::ofstream list(path + ".txt", std::ios::trunc);
    for (const std::string& n : names) list << n << "\n";
  } else if (ext == ".jsonl") {
    std::ofstream out(path, std::ios::trunc);
    if (!out) throw IoError(path + ": cannot write");
    const std::int64_t d = embeddings.dim(1);
    for (std::size_t i = 0; i < names.size(); ++i) {
      const float* row = embeddings.data<float>() + static_cast<std::int64_t>(i) * d;
      out << nlohmann::ordered_json{{field, names[i]}, {"embedding", std::vector<float>(row, row + d)}}.dump(
                 -1, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n";
    }
  } else {
    throw UsageError("--output must end in .safetensors, .npy or .jsonl (got '" + path + "')");
  }
}

void l2_normalize(std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  const double inv = s > 0 ? 1.0 / std::sqrt(s) : 0.0;
  for (float& x : v) x = static_cast<float>(x * inv);
}

Tensor stack_rows(const std::vector<std::vector<float>>& rows) {
  const auto n = static_cast<std::int64_t>(rows.size()), d = rows.empty() ? 0 : static_cast<std::int64_t>(rows[0].size());
  Tensor t = Tensor::empty(DType::F32, {n, d});
  for (std::int64_t i = 0; i < n; ++i) std::copy(rows[i].begin(), rows[i].end(), t.mutable_data<float>() + i * d);
  return t;
}

}  // namespace

int run_classify(int argc, char** argv) {
  const Args args(argc, argv, 2, {"quiet", "help"},
                  {"model", "labels", "labels-file", "template", "top", "format", "frames", "num-frames", "sampling",
                   "frame-sample-rate", "seed", "clips", "start", "end", "batch", "threads", "backend", "dtype"});
  if (args.flag("help")) {
    std::cout << kClassifyHelp;
    return 0;
  }
  if (args.positionals().empty()) throw UsageError("no videos given");
  if (args.has("labels") == args.has("labels-file")) throw UsageError("give --labels or --labels-file (one of them)");
  const std::vector<std::string> labels = args.has("labels") ? split_commas(args.get("labels")) : read_lines(args.get("labels-file"));
  if (labels.empty()) throw UsageError("no labels");
  const std::string format = args.get("format", "text");
  if (format != "text" && format != "json" && format != "csv") throw UsageError("--format must be text, json or csv");
  const int top = std::min<int>(args.get_int("top", static_cast<int>(labels.size())), static_cast<int>(labels.size()));

  Loaded l = load(args);
  Session session(l.model);
  const Tensor text_features = encode_texts(session, l.processor->tokenizer(), labels, args.get("template", "{}"));

  const SamplingOptions sampling = sampling_for(args, *l.model);

  nlohmann::ordered_json json_out = nlohmann::ordered_json::array();
  if (format == "csv") std::cout << "video,rank,label,probability\n";
  const int failures = run_videos(
      args, args.positionals(), sampling, l.processor->video_processor(),
      [&](const Tensor& pixels) { return session.forward_with_text_features(pixels, text_features).at("logits_per_video"); },
      [&](const PreparedVideo& v, const Tensor& logits, std::size_t row, std::size_t clips) {
        const std::size_t n = labels.size();
        std::vector<double> probs(n, 0.0);
        for (std::size_t c = 0; c < clips; ++c) {  // multi-view: average the views' probabilities
          std::vector<double> p(logits.data<float>() + (row + c) * n, logits.data<float>() + (row + c + 1) * n);
          softmax(p);
          for (std::size_t i = 0; i < n; ++i) probs[i] += p[i] / static_cast<double>(clips);
        }
        std::vector<std::size_t> order(n);
        for (std::size_t i = 0; i < n; ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return probs[a] > probs[b]; });
        order.resize(static_cast<std::size_t>(top));
        if (format == "text") {
          std::cout << v.path << "\n";
          for (std::size_t i : order) std::printf("  %.4f  %s\n", probs[i], labels[i].c_str());
          std::fflush(stdout);
        } else if (format == "csv") {
          for (std::size_t r = 0; r < order.size(); ++r)
            std::cout << csv_field(v.path) << "," << r + 1 << "," << csv_field(labels[order[r]]) << "," << probs[order[r]] << "\n";
        } else {
          nlohmann::ordered_json entry = {{"video", v.path}, {"labels", nlohmann::ordered_json::array()}};
          for (std::size_t i : order) entry["labels"].push_back({{"label", labels[i]}, {"probability", probs[i]}});
          json_out.push_back(entry);
        }
      });
  if (format == "json") std::cout << json_out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  return failures > 0 ? 1 : 0;
}

int run_embed(int argc, char** argv) {
  const Args args(argc, argv, 2, {"quiet", "normalize", "help"},
                  {"model", "output", "frames", "num-frames", "sampling", "frame-sample-rate", "seed", "clips", "start", "end",
                   "batch", "threads", "backend", "dtype"});
  if (args.flag("help")) {
    std::cout << kEmbedHelp;
    return 0;
  }
  if (args.positionals().empty()) throw UsageError("no videos given");
  const std::string output = args.required("output");
  if (extension_of(output) != ".safetensors" && extension_of(output) != ".npy" && extension_of(output) != ".jsonl")
    throw UsageError("--output must end in .safetensors, .npy or .jsonl");
  Loaded l = load(args);
  Session session(l.model);
  SamplingOptions sampling = sampling_for(args, *l.model);
  std::vector<std::vector<float>> rows;
  std::vector<std::string> names;
  const int failures = run_videos(
      args, args.positionals(), sampling, l.processor->video_processor(),
      [&](const Tensor& pixels) { return session.get_video_features(pixels); },
      [&](const PreparedVideo& v, const Tensor& features, std::size_t row, std::size_t clips) {
        const std::int64_t d = features.dim(1);
        std::vector<float> e(static_cast<std::size_t>(d), 0.0f);
        for (std::size_t c = 0; c < clips; ++c)
          for (std::int64_t i = 0; i < d; ++i) e[i] += features.data<float>()[(row + c) * d + i] / static_cast<float>(clips);
        if (args.flag("normalize")) l2_normalize(e);
        rows.push_back(std::move(e));
        names.push_back(v.path);
      });
  if (!rows.empty()) write_embeddings(output, stack_rows(rows), names, "video");
  return failures > 0 ? 1 : 0;
}

int run_embed_text(int argc, char** argv) {
  const Args args(argc, argv, 2, {"normalize", "help"},
                  {"model", "output", "template", "texts-file", "threads", "backend", "dtype"});
  if (args.flag("help")) {
    std::cout << kEmbedTextHelp;
    return 0;
  }
  const std::string output = args.required("output");
  std::vector<std::string> texts = args.has("texts-file") ? read_lines(args.get("texts-file")) : args.positionals();
  if (texts.empty()) throw UsageError("no texts given");
  Loaded l = load(args);
  Session session(l.model);
  const Tensor features = encode_texts(session, l.processor->tokenizer(), texts, args.get("template", "{}"));
  std::vector<std::vector<float>> rows;
  for (std::int64_t i = 0; i < features.dim(0); ++i) {
    std::vector<float> e(features.data<float>() + i * features.dim(1), features.data<float>() + (i + 1) * features.dim(1));
    if (args.flag("normalize")) l2_normalize(e);
    rows.push_back(std::move(e));
  }
  write_embeddings(output, stack_rows(rows), texts, "text");
  return 0;
}

}  // namespace xclip::cli
