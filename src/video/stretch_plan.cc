#include "video/stretch_plan.h"

#include <algorithm>

namespace xclip::video {

namespace {

// Frame threading on one decoder gets ~1.65x from two cores on H.264 here and drains at every
// seek; independent single-threaded decoders pay off when the stretches balance well enough
// that the busiest one decodes under 1 / 1.6 of the frames.
constexpr double kFrameThreadingSpeedup = 1.6;
// Each extra decoder costs a thread and an open (demuxer, stream probe, codec): worth it only
// when the frames it takes off the busiest decoder add up to this many pixels (~50 frames of
// 640x360, 5 of 1080p). Small clips, as a server classifies them, keep one decoder.
constexpr double kMinParallelPixels = 1e7;

}  // namespace

std::vector<Stretch> plan_stretches(const std::vector<std::int64_t>& targets,
                                    const std::function<std::int64_t(std::int64_t)>& decode_start) {
  std::vector<Stretch> out;
  std::int64_t key = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::int64_t k = decode_start(targets[i]);
    if (i == 0 || k > targets[i - 1] + 1) {
      out.emplace_back();
      key = k;
    }
    out.back().targets.push_back(targets[i]);
    out.back().frames = targets[i] - key + 1;
  }
  return out;
}

std::int64_t busiest_load(const std::vector<Stretch>& longest_first, int workers) {
  std::vector<std::int64_t> load(static_cast<std::size_t>(std::max(workers, 1)), 0);
  for (const Stretch& s : longest_first) *std::min_element(load.begin(), load.end()) += s.frames;
  return *std::max_element(load.begin(), load.end());
}

int decoder_count(const std::vector<Stretch>& longest_first, const DecoderChoice& c) {
  const int workers =
      std::min<int>(c.max_decoders > 0 ? c.max_decoders : c.cores, static_cast<int>(longest_first.size()));
  if (workers < 2 || c.counted_by_decoding) return 1;
  std::int64_t total = 0;
  for (const Stretch& s : longest_first) total += s.frames;
  const std::int64_t busiest = busiest_load(longest_first, workers);
  const bool balanced = static_cast<double>(busiest) * kFrameThreadingSpeedup < static_cast<double>(total);
  const bool worth_it = static_cast<double>(total - busiest) * c.frame_pixels >= kMinParallelPixels;
  return balanced && worth_it ? workers : 1;
}

}  // namespace xclip::video
