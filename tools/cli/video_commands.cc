// xclip probe / xclip frames: video metadata and sampled frames.
#include <iostream>

#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "command_spec.h"
#include "commands.h"
#include "video_sampling.h"
#include "xclip/xclip.h"

namespace xclip::cli {

namespace {

const CommandSpec kProbe = {
    "xclip probe VIDEO [options]",
    "Prints the video's metadata as JSON: container, the stream read (stream_index, of\n"
    "video_streams video streams; FFmpeg's choice, the default-disposition one, unless --stream N\n"
    "names one as ffprobe numbers them), codec, pixel format, displayed size (after rotation),\n"
    "rotation, average frame rate, duration, frame count. The frame count is exact\n"
    "(every packet is counted, nothing decoded) unless --header-count trusts the container header.",
    OptionList{{"header-count", "", "trust the container's frame count (nothing scanned)"}} + stream_option() +
        decode_limit_options(),
    "example:\n  xclip probe clip.mp4"};

const CommandSpec kFrames = {
    "xclip frames VIDEO --outputs OUT.safetensors [options]",
    "Decodes sampled frames and writes frames (U8 [T, H, W, 3] RGB; [clips, T, H, W, 3] with\n"
    "--clips > 1), indices (I64) and pts (F64 seconds from the first frame).",
    OptionList{{"outputs", "OUT.safetensors", "where the frames go"}} +
        sampling_options("frames per clip (default 8)") + stream_option() +
        OptionList{{"on-missing", "error|nearest",
                    "a frame the decoder cannot produce: an error naming it (default), or the\n"
                    "nearest later picture (`indices` then names it; `substituted` says how far)"}} +
        seek_option() + decode_limit_options(),
    "example:\n  xclip frames clip.mp4 --frames 8 --outputs frames.safetensors"};

nlohmann::json info_json(const VideoInfo& i) {
  return {{"path", i.path},
          {"container", i.container},
          {"stream_index", i.stream_index},
          {"video_streams", i.video_streams},
          {"codec", i.codec},
          {"pixel_format", i.pixel_format},
          {"width", i.width},
          {"height", i.height},
          {"coded_width", i.coded_width},
          {"coded_height", i.coded_height},
          {"rotation", i.rotation},
          {"average_fps", i.average_fps},
          {"duration_seconds", i.duration_seconds},
          {"frame_count", i.frame_count},
          {"frame_count_exact", i.frame_count_exact},
          {"frame_index", i.frame_index}};
}

}  // namespace

int run_probe(int argc, char** argv) {
  const Args args = parse_args(kProbe, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kProbe);
    return 0;
  }
  if (args.positionals().size() != 1) throw UsageError("expected exactly one VIDEO");
  VideoOpenOptions options;
  options.limits = parse_decode_limits(args);
  options.stream = args.has("stream") ? args.get_int("stream", 0) : -1;
  if (args.flag("header-count")) options.frame_count = FrameCountMode::Header;
  const VideoReader reader = VideoReader::open(args.positionals()[0], options);
  std::cout << info_json(reader.info()).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

int run_frames(int argc, char** argv) {
  const Args args = parse_args(kFrames, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kFrames);
    return 0;
  }
  if (args.positionals().size() != 1) throw UsageError("expected exactly one VIDEO");
  const std::string out = args.required("outputs");
  const SamplingOptions sampling = parse_sampling_options(args, 8);
  VideoOpenOptions open;
  open.seek = parse_seek_mode(args);
  open.limits = parse_decode_limits(args);
  open.stream = args.has("stream") ? args.get_int("stream", 0) : -1;
  const std::string on_missing = args.get("on-missing", "error");
  if (on_missing != "error" && on_missing != "nearest") throw UsageError("--on-missing must be error or nearest");
  if (on_missing == "nearest") open.on_missing = VideoOpenOptions::OnMissing::Nearest;
  VideoReader reader = VideoReader::open(args.positionals()[0], open);
  const SampledClips clips = sample_clips(reader, sampling);
  if (clips.repeated) {
    std::cerr << "note: " << reader.info().path << " has " << reader.info().frame_count << " frames, fewer than "
              << sampling.num_frames << "; frames repeat\n";
  }
  std::vector<std::int64_t> all;
  for (const auto& c : clips.indices) all.insert(all.end(), c.begin(), c.end());
  const DecodedFrames decoded = reader.frames_at(all);
  std::vector<std::int64_t> shape = decoded.frames.shape();
  std::vector<std::int64_t> index_shape = {static_cast<std::int64_t>(all.size())};
  if (clips.indices.size() > 1) {
    const auto k = static_cast<std::int64_t>(clips.indices.size());
    shape.insert(shape.begin(), k);
    shape[1] /= k;
    index_shape = {k, index_shape[0] / k};
  }
  save_safetensors(
      out, {{"frames", decoded.frames.reshaped(shape)},
            {"indices", Tensor::from_values<std::int64_t>(DType::I64, index_shape, decoded.indices.data())},
            {"pts", Tensor::from_values<double>(DType::F64, index_shape, decoded.pts_seconds.data())},
            {"substituted", Tensor::from_values<std::int64_t>(DType::I64, index_shape, decoded.substituted.data())}});
  for (std::size_t k = 0; k < all.size(); ++k)
    if (decoded.substituted[k] != 0)
      std::cerr << "note: frame " << all[k] << " cannot be decoded; frame " << decoded.indices[k] << " ("
                << decoded.substituted[k] << " later) is used in its place\n";
  return 0;
}

}  // namespace xclip::cli
