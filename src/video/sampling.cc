// Frame samplers: pure functions of (frame count, options).
#include <algorithm>
#include <cmath>
#include <random>

#include "core/check.h"
#include "xclip/video.h"

namespace xclip::sampling {

namespace {
void check_args(std::int64_t frame_count, int num_frames) {
  XCLIP_CHECK(frame_count > 0, InvalidArgument) << "cannot sample from a video with " << frame_count << " frames";
  XCLIP_CHECK(num_frames > 0, InvalidArgument) << "number of frames to sample must be positive, got " << num_frames;
}
}  // namespace

std::vector<std::int64_t> uniform(std::int64_t frame_count, int num_frames) {
  return uniform_clips(frame_count, num_frames, 1).front();
}

std::vector<std::vector<std::int64_t>> uniform_clips(std::int64_t frame_count, int num_frames, int clips) {
  check_args(frame_count, num_frames);
  XCLIP_CHECK(clips > 0, InvalidArgument) << "clips must be positive, got " << clips;
  // Segment i spans [i·n/T, (i+1)·n/T); clip k samples at fraction (k + 0.5)/clips of each
  // segment, so one clip takes the middle frames. Short videos repeat frames.
  const double segment = static_cast<double>(frame_count) / num_frames;
  std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(clips));
  for (int k = 0; k < clips; ++k) {
    const double fraction = (k + 0.5) / clips;
    for (int i = 0; i < num_frames; ++i) {
      const auto index = static_cast<std::int64_t>(std::floor(segment * (i + fraction)));
      out[static_cast<std::size_t>(k)].push_back(std::clamp<std::int64_t>(index, 0, frame_count - 1));
    }
  }
  return out;
}

std::vector<std::int64_t> consecutive(std::int64_t frame_count, int clip_len, int frame_sample_rate, std::uint64_t seed) {
  check_args(frame_count, clip_len);
  XCLIP_CHECK(frame_sample_rate > 0, InvalidArgument) << "frame_sample_rate must be positive, got " << frame_sample_rate;
  // converted_len = clip_len · rate; end ~ U[converted_len, seg_len); start = end - converted_len;
  // clip_len points of linspace(start, end) clipped to [start, end - 1]. When the video is
  // shorter than the window, the window starts at 0 and indices are clipped to the video.
  const std::int64_t converted = static_cast<std::int64_t>(clip_len) * frame_sample_rate;
  std::mt19937_64 rng(seed);
  std::int64_t end = converted;
  if (frame_count > converted) end = std::uniform_int_distribution<std::int64_t>(converted, frame_count - 1)(rng);
  const std::int64_t start = end - converted;
  std::vector<std::int64_t> out;
  for (int i = 0; i < clip_len; ++i) {
    const double v = clip_len == 1 ? start : start + (static_cast<double>(end - start) * i) / (clip_len - 1);
    const auto index = static_cast<std::int64_t>(std::clamp(v, static_cast<double>(start), static_cast<double>(end - 1)));
    out.push_back(std::clamp<std::int64_t>(index, 0, frame_count - 1));
  }
  return out;
}

std::vector<std::int64_t> random(std::int64_t frame_count, int num_frames, std::uint64_t seed) {
  check_args(frame_count, num_frames);
  std::mt19937_64 rng(seed);
  const double segment = static_cast<double>(frame_count) / num_frames;
  std::vector<std::int64_t> out;
  for (int i = 0; i < num_frames; ++i) {
    const auto lo = static_cast<std::int64_t>(std::floor(segment * i));
    const auto hi = std::max(lo, static_cast<std::int64_t>(std::ceil(segment * (i + 1))) - 1);
    out.push_back(std::clamp<std::int64_t>(std::uniform_int_distribution<std::int64_t>(lo, hi)(rng), 0, frame_count - 1));
  }
  return out;
}

std::vector<std::int64_t> offset(const std::vector<std::int64_t>& indices, std::int64_t first) {
  std::vector<std::int64_t> out;
  out.reserve(indices.size());
  for (std::int64_t i : indices) out.push_back(i + first);
  return out;
}

}  // namespace xclip::sampling
