// The pure part of decoding many frames of one file: which targets one decoder reads without
// seeking (a stretch), and how many independent decoders are worth opening. No FFmpeg here:
// the reader supplies where decoding must start for each target.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace xclip::video {

// Targets one decoder reads in one go: from the keyframe before the first, decoding on while
// each next target's keyframe is not beyond the previous target.
struct Stretch {
  std::vector<std::int64_t> targets;
  std::int64_t frames = 0;  // frames decoded (at most), keyframe to last target
};

// `targets` ascending; `decode_start(t)` is the frame decoding must start from to reach t.
std::vector<Stretch> plan_stretches(const std::vector<std::int64_t>& targets,
                                    const std::function<std::int64_t(std::int64_t)>& decode_start);

// The frames the busiest of `workers` decoders would decode, stretches dealt longest first to
// the least loaded (the order the decoders take them in).
std::int64_t busiest_load(const std::vector<Stretch>& longest_first, int workers);

struct DecoderChoice {
  int cores = 1;                     // cores this process may use
  int max_decoders = 0;              // VideoOpenOptions::threads (0: the cores)
  bool counted_by_decoding = false;  // frames numbered by counting decoded pictures: one decoder
  double frame_pixels = 0;           // width x height
};

// How many independent decoders to run over `longest_first`: one (frame threaded) unless the
// stretches split well across the cores and the work taken off the busiest is worth an open.
int decoder_count(const std::vector<Stretch>& longest_first, const DecoderChoice& c);

}  // namespace xclip::video
