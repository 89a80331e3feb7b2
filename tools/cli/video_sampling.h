// Shared by `frames`, `classify` and `embed`: sampling options from the command line and
// the index lists they give for one video.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "xclip/video.h"

namespace xclip::cli {

struct SamplingOptions {
  int num_frames = 8;
  std::string method = "uniform";
  int frame_sample_rate = 1;
  std::uint64_t seed = 0;
  int clips = 1;
  double start = -1, end = -1;
  std::vector<std::int64_t> indices;  // explicit
};

SamplingOptions parse_sampling_options(const Args& args, int default_frames = 8);

struct SampledClips {
  std::vector<std::vector<std::int64_t>> indices;
  bool repeated = false;  // the video has fewer frames than asked for
};

SampledClips sample_clips(VideoReader& reader, const SamplingOptions& options);

}  // namespace xclip::cli
