#include "video_sampling.h"

#include <cstdlib>
#include <sstream>

#include "core/check.h"

namespace xclip::cli {

namespace {

double parse_seconds(const std::string& value, const std::string& name) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(v >= 0)) throw UsageError("--" + name + " expects seconds >= 0, got '" + value + "'");
  return v;
}

}  // namespace

SamplingOptions parse_sampling_options(const Args& args, int default_frames) {
  SamplingOptions o;
  o.num_frames = args.get_int("num-frames", default_frames);
  if (o.num_frames <= 0) throw UsageError("--num-frames must be positive");
  o.method = args.get("sampling", "uniform");
  if (o.method != "uniform" && o.method != "consecutive" && o.method != "random")
    throw UsageError("--sampling must be uniform, consecutive or random");
  o.frame_sample_rate = args.get_int("frame-sample-rate", 1);
  if (o.frame_sample_rate <= 0) throw UsageError("--frame-sample-rate must be positive");
  o.seed = static_cast<std::uint64_t>(args.get_int("seed", 0));
  o.clips = args.get_int("clips", 1);
  if (o.clips <= 0) throw UsageError("--clips must be positive");
  if (args.has("start")) o.start = parse_seconds(args.get("start"), "start");
  if (args.has("end")) o.end = parse_seconds(args.get("end"), "end");
  if (o.start >= 0 && o.end >= 0 && o.end < o.start) throw UsageError("--end is before --start");
  if (args.has("indices")) {
    std::stringstream ss(args.get("indices"));
    std::string item;
    while (std::getline(ss, item, ',')) {
      char* end = nullptr;
      const long long v = std::strtoll(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v < 0) throw UsageError("--indices expects comma-separated frame numbers");
      o.indices.push_back(v);
    }
    if (o.indices.empty()) throw UsageError("--indices is empty");
  }
  return o;
}

SampledClips sample_clips(VideoReader& reader, const SamplingOptions& o) {
  SampledClips out;
  if (!o.indices.empty()) {
    out.indices = {o.indices};
    return out;
  }
  const std::int64_t count = reader.info().frame_count;
  XCLIP_CHECK(count > 0, FormatError) << reader.info().path << ": the video has no frames";
  std::int64_t first = 0, last = count - 1;
  if (o.start >= 0) first = reader.index_at_time(o.start);
  if (o.end >= 0) last = reader.index_at_time(o.end);
  const std::int64_t span = last - first + 1;
  XCLIP_CHECK(span > 0, InvalidArgument) << reader.info().path << ": no frames between the given times";
  const int needed = o.method == "consecutive" ? o.num_frames * o.frame_sample_rate : o.num_frames;
  out.repeated = span < needed;
  for (int k = 0; k < o.clips; ++k) {
    std::vector<std::int64_t> idx;
    if (o.method == "uniform") idx = sampling::uniform_clips(span, o.num_frames, o.clips)[static_cast<std::size_t>(k)];
    else if (o.method == "consecutive") idx = sampling::consecutive(span, o.num_frames, o.frame_sample_rate, o.seed + k);
    else idx = sampling::random(span, o.num_frames, o.seed + k);
    out.indices.push_back(sampling::offset(idx, first));
  }
  return out;
}

}  // namespace xclip::cli
