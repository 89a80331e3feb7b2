#include "video_sampling.h"

#include <cstdlib>
#include <sstream>

#include "xclip/error.h"

namespace xclip::cli {

namespace {

double parse_seconds(const std::string& value, const std::string& name) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(v >= 0)) throw UsageError("--" + name + " expects seconds >= 0, got '" + value + "'");
  return v;
}

std::vector<std::int64_t> parse_indices(const std::string& list) {
  std::vector<std::int64_t> indices;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0) throw UsageError("--indices expects comma-separated frame numbers");
    indices.push_back(v);
  }
  if (indices.empty()) throw UsageError("--indices is empty");
  return indices;
}

}  // namespace

SamplingOptions parse_sampling_options(const Args& args, int default_frames) {
  SamplingOptions o;
  o.num_frames = args.get_int("frames", default_frames);
  if (args.has("frames") && o.num_frames <= 0) throw UsageError("--frames must be positive");
  const std::string method = args.get("sampling", "uniform");
  if (method != "uniform" && method != "consecutive" && method != "random")
    throw UsageError("--sampling must be uniform, consecutive or random");
  o.method = parse_sampling_method(method);
  o.frame_sample_rate = args.get_int("frame-sample-rate", 1);
  if (o.frame_sample_rate <= 0) throw UsageError("--frame-sample-rate must be positive");
  o.seed = static_cast<std::uint64_t>(args.get_int("seed", 0));
  o.clips = args.get_int("clips", 1);
  if (o.clips <= 0) throw UsageError("--clips must be positive");
  if (args.has("start")) o.start = parse_seconds(args.get("start"), "start");
  if (args.has("end")) o.end = parse_seconds(args.get("end"), "end");
  if (o.start >= 0 && o.end >= 0 && o.end < o.start) throw UsageError("--end is before --start");
  if (args.has("indices")) o.indices = parse_indices(args.get("indices"));
  return o;
}

SeekMode parse_seek_mode(const Args& args) {
  try {
    return xclip::parse_seek_mode(args.get("seek", "exact"));
  } catch (const InvalidArgument& e) {
    throw UsageError(std::string("--") + e.what());
  }
}

}  // namespace xclip::cli
