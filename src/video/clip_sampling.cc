// Sampling options -> the frame indices of each view of one video.
#include "core/check.h"
#include "xclip/video.h"

namespace xclip {

SamplingMethod parse_sampling_method(const std::string& name) {
  if (name == "uniform") return SamplingMethod::Uniform;
  if (name == "consecutive") return SamplingMethod::Consecutive;
  if (name == "random") return SamplingMethod::Random;
  XCLIP_FAIL(InvalidArgument) << "sampling must be uniform, consecutive or random, got '" << name << "'";
  __builtin_unreachable();  // the failure above always throws
}

SeekMode parse_seek_mode(const std::string& name) {
  if (name == "exact") return SeekMode::Exact;
  if (name == "keyframe") return SeekMode::Keyframe;
  XCLIP_FAIL(InvalidArgument) << "seek must be exact or keyframe, got '" << name << "'";
  __builtin_unreachable();  // the failure above always throws
}

const char* seek_mode_name(SeekMode mode) { return mode == SeekMode::Keyframe ? "keyframe" : "exact"; }

namespace {

void check_options(const SamplingOptions& o) {
  XCLIP_CHECK(o.num_frames > 0 || !o.indices.empty(), InvalidArgument)
      << "frames per video must be positive, got " << o.num_frames;
  XCLIP_CHECK(o.clips > 0, InvalidArgument) << "clips must be positive, got " << o.clips;
  XCLIP_CHECK(o.frame_sample_rate > 0, InvalidArgument)
      << "frame_sample_rate must be positive, got " << o.frame_sample_rate;
  XCLIP_CHECK(!(o.start >= 0 && o.end >= 0 && o.end < o.start), InvalidArgument)
      << "the end time " << o.end << " s is before the start time " << o.start << " s";
  for (std::int64_t i : o.indices) XCLIP_CHECK(i >= 0, InvalidArgument) << "frame index " << i << " is negative";
}

}  // namespace

SampledClips sample_clips(VideoReader& reader, const SamplingOptions& o) {
  check_options(o);
  SampledClips out;
  if (!o.indices.empty()) {
    out.indices = {o.indices};
    return out;
  }
  const std::int64_t count = reader.info().frame_count;
  XCLIP_CHECK(count > 0, FormatError) << reader.info().path << ": the video has no frames";
  std::int64_t first = 0, last = count - 1;
  // A window that starts after the video ends holds no frame: the last one repeated would be
  // a picture from outside the window.
  const double duration = reader.info().duration_seconds;
  XCLIP_CHECK(!(o.start >= 0 && duration > 0 && o.start >= duration), InvalidArgument)
      << reader.info().path << ": the start time " << o.start << " s is past the end of the video (" << duration
      << " s)";
  if (o.start >= 0) first = reader.index_at_time(o.start);
  if (o.end >= 0) last = reader.index_at_time(o.end);
  const std::int64_t span = last - first + 1;
  XCLIP_CHECK(span > 0, InvalidArgument) << reader.info().path << ": no frames between the given times";
  const int needed = o.method == SamplingMethod::Consecutive ? o.num_frames * o.frame_sample_rate : o.num_frames;
  out.repeated = span < needed;
  for (int k = 0; k < o.clips; ++k) {
    std::vector<std::int64_t> idx;
    switch (o.method) {
      case SamplingMethod::Uniform:
        idx = sampling::uniform_clips(span, o.num_frames, o.clips)[static_cast<std::size_t>(k)];
        break;
      case SamplingMethod::Consecutive:
        idx = sampling::consecutive(span, o.num_frames, o.frame_sample_rate, o.seed + k);
        break;
      case SamplingMethod::Random:
        idx = sampling::random(span, o.num_frames, o.seed + k);
        break;
    }
    out.indices.push_back(sampling::offset(idx, first));
  }
  return out;
}

}  // namespace xclip
