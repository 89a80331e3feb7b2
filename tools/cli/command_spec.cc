#include "command_spec.h"

#include <set>
#include <sstream>

namespace xclip::cli {

namespace {

constexpr std::size_t kHelpColumn = 27;  // where the second column starts

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

OptionList operator+(OptionList a, const OptionList& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string help_text(const CommandSpec& spec) {
  std::string out = "usage: ";
  const std::vector<std::string> usage = lines_of(spec.usage);
  for (std::size_t i = 0; i < usage.size(); ++i) out += (i ? "       " : "") + usage[i] + "\n";
  if (!spec.about.empty()) out += "\n" + spec.about + "\n";
  if (!spec.options.empty()) out += "\noptions:\n";
  for (const OptionSpec& o : spec.options) {
    std::string left = "  --" + o.name + (o.value.empty() ? "" : " " + o.value);
    const std::vector<std::string> help = lines_of(o.help);
    if (left.size() + 1 > kHelpColumn) {
      out += left + "\n";
      left.clear();
    }
    for (const std::string& line : help) {
      left.resize(kHelpColumn, ' ');
      out += left + line + "\n";
      left.clear();
    }
    if (help.empty()) out += left + "\n";
  }
  if (!spec.footer.empty()) out += "\n" + spec.footer + "\n";
  return out;
}

Args parse_args(const CommandSpec& spec, int argc, char** argv) {
  std::set<std::string> flags = {"help"}, values;
  for (const OptionSpec& o : spec.options) (o.value.empty() ? flags : values).insert(o.name);
  return Args(argc, argv, 2, flags, values);
}

OptionList model_option(const std::string& default_text) {
  return {{"model", "ID|DIR", "hub id (org/name[@revision]) or local folder (" + default_text + ")"}};
}

OptionList dtype_option() {
  return {{"dtype", "auto|float32|bfloat16|int8",
           "what the linear layers run in: int8 ~3-4x faster, embeddings within cosine\n"
           "0.999; bfloat16 (AVX512-BF16 CPUs) ~1.5x; auto (default): int8 for a folder\n"
           "written by `xclip convert` whose self-check passed, else as stored"}};
}

OptionList threads_option(const std::string& help) { return {{"threads", "N", help}}; }

OptionList quiet_option(const std::string& help) { return {{"quiet", "", help}}; }

OptionList sampling_options(const std::string& frames_help) {
  return {{"frames", "T", frames_help},
          {"sampling", "uniform|consecutive|random",
           "uniform (default): the middle frame of T equal segments (X-CLIP's protocol);\n"
           "consecutive: transformers' sample_frame_indices(T, rate, frames);\n"
           "random: one random frame per segment"},
          {"frame-sample-rate", "R", "step of consecutive sampling (default 1)"},
          {"seed", "S", "seed of consecutive / random sampling (default 0)"},
          {"clips", "K", "K views per video (uniform: shifted within each segment; averaged)"},
          {"start", "S", "sample only frames shown from this time on (seconds)"},
          {"end", "S", "... and up to this time (seconds)"},
          {"indices", "i,j,...", "explicit frame indices instead of a sampler"}};
}

OptionList seek_option() {
  return {{"seek", "exact|keyframe",
           "keyframe: each sampled frame replaced by the keyframe at or before it\n"
           "(inexact, one decoded picture per frame: fast on long videos)"}};
}

OptionList max_pixels_option() {
  return {{"max-pixels", "N",
           "largest frame decoded, in pixels (default " + std::to_string(DecodeLimits{}.max_pixels) + ": 8192x4320)"}};
}

OptionList decode_limit_options() {
  return max_pixels_option() +
         OptionList{{"max-frames", "N",
                     "most frames decoded at once (default " + std::to_string(DecodeLimits{}.max_frames) + ")"}};
}

OptionList label_options(const std::string& labels_help) {
  return {{"labels", "\"a,b,c\"", labels_help}, {"labels-file", "FILE", "the same, one label per line"}};
}

OptionList stream_option() {
  return {{"stream", "N", "the video stream to read (as ffprobe numbers them; default: FFmpeg's choice)"}};
}

}  // namespace xclip::cli
