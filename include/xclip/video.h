// Reading frames from any video FFmpeg can demux and decode, by index or by time, and the
// frame samplers X-CLIP users need (uniform, consecutive, random, multi-clip).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xclip/tensor.h"

namespace xclip {

struct VideoInfo {
  std::string path;
  std::string container;     // demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  int stream_index = 0;      // the stream read (of all the file's streams, as ffprobe numbers them)
  int video_streams = 1;     // how many video streams the file has
  std::string codec;         // e.g. "h264"
  std::string pixel_format;  // e.g. "yuv420p"
  int width = 0, height = 0;  // displayed size (after rotation)
  int coded_width = 0, coded_height = 0;
  int rotation = 0;              // clockwise degrees applied to decoded frames: 0, 90, 180, 270
  double average_fps = 0.0;      // 0 when unknown
  double duration_seconds = 0.0;
  std::int64_t frame_count = 0;
  bool frame_count_exact = false;  // counted from packets, not read from the header
  // Where the exact count and the index -> time map came from: "packets" (every packet of the
  // stream read), "sample table" (an MP4 / MOV whose table is exact: decode times and
  // composition offsets, read without the pictures), "" (FrameCountMode::Header: not built).
  std::string frame_index;
};

enum class FrameCountMode {
  Exact,   // scan every packet of the stream (no decoding); also builds the index -> time map
  Header,  // trust the container header (fast, can be wrong)
};

enum class SeekMode {
  Exact,     // every requested frame is decoded (from the keyframe before it)
  Keyframe,  // each requested frame is replaced by the keyframe at or before it: inexact,
             // one decoded picture per target; DecodedFrames says which frames were used
};

// What one file may cost to decode. A small file can declare huge pictures (a 740 KB H.264
// of 15872x15872 frames), so the limits are checked from the stream's parameters before
// anything is decoded, again by the decoder for every picture (a stream may lie), and on
// every request for frames. The defaults cover real 8K video (8192x4320, DCI).
struct DecodeLimits {
  std::int64_t max_pixels = 8192LL * 4320;  // per frame (width x height)
  std::int64_t max_frames = 1024;           // per frames_at call (each is a full-size RGB picture)
};

struct VideoOpenOptions {
  FrameCountMode frame_count = FrameCountMode::Exact;
  int threads = 0;  // decoder threads (and parallel decoders); 0 = automatic, 1 = one thread
  SeekMode seek = SeekMode::Exact;
  DecodeLimits limits;
  // The stream to read, numbered as ffprobe numbers them; -1: the one FFmpeg picks (the
  // default-disposition video stream first).
  int stream = -1;
  // A frame the decoder cannot produce (its own timestamp never comes out): an error naming
  // the index (default), or the nearest later picture, reported in DecodedFrames::substituted.
  enum class OnMissing { Error, Nearest } on_missing = OnMissing::Error;
};

// Receives a decoded frame: RGB U8 [height, width, 3] in displayed orientation, at the frame's
// own size (a stream may change resolution: adaptive HLS, live streams), the rows of the
// request that asked for it (one frame may serve several), and its presentation time. Called
// once per distinct frame, never by two threads at once; the pixels are valid only during the
// call.
using FrameSink = std::function<void(const std::vector<std::size_t>& rows, const std::uint8_t* rgb, int height,
                                     int width, double pts_seconds)>;

struct DecodedFrames {
  Tensor frames;                     // U8 [T, H, W, 3] RGB, displayed orientation
  // Frame index of each row (presentation order): the requested ones, or with
  // SeekMode::Keyframe the keyframes that replaced them.
  std::vector<std::int64_t> indices;
  std::vector<double> pts_seconds;    // presentation time of each row
  // With OnMissing::Nearest: for each row, how many frames later the picture used is than
  // the one asked for (0: the frame itself; `indices` then names the frame used).
  std::vector<std::int64_t> substituted;
};

class VideoReader {
 public:
  // IoError (missing, unreadable), FormatError (not a video, no video stream, corrupt).
  static VideoReader open(const std::string& path, const VideoOpenOptions& options = {});
  ~VideoReader();
  VideoReader(VideoReader&&) noexcept;
  VideoReader& operator=(VideoReader&&) noexcept;

  const VideoInfo& info() const;

  // Frames by index in presentation order, returned in the order asked (duplicates allowed).
  // Served with one forward pass over the sorted indices, seeking to the keyframe before a
  // target when that is cheaper than decoding on. Indices past the real frame count are an
  // InvalidArgument; a stream that breaks before a target is a FormatError naming it.
  DecodedFrames frames_at(const std::vector<std::int64_t>& indices);
  // The same frames, handed to `sink` one by one as they are decoded instead of held: the
  // result's `frames` stays empty, so memory does not grow with the count or the resolution,
  // and frames of a stream that changes resolution each come at their own size (frames_at
  // without a sink refuses them: one tensor holds one size).
  DecodedFrames frames_at(const std::vector<std::int64_t>& indices, const FrameSink& sink);
  // Frames shown at the given times (the last frame starting at or before each time; times
  // count from the first frame).
  DecodedFrames frames_at_times(const std::vector<double>& seconds);
  // Index of the frame shown at `seconds` (as frames_at_times).
  std::int64_t index_at_time(double seconds);

  // Decoding statistics of the last frames_at call (for benchmarks and tests).
  struct Stats {
    std::int64_t decoded_frames = 0;
    std::int64_t seeks = 0;
    // Independent decoders that served the call: sparse targets spread over several
    // keyframe stretches are split across cores (VideoOpenOptions::threads caps them; 1
    // keeps a single, frame-threaded decoder).
    int decoders = 1;
  };
  Stats last_stats() const;

  struct Impl;

 private:
  explicit VideoReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Frame samplers: pure functions from a frame count to frame indices.
namespace sampling {

// X-CLIP's evaluation protocol: T equal segments, the middle frame of each.
std::vector<std::int64_t> uniform(std::int64_t frame_count, int num_frames);
// transformers' documented sample_frame_indices(clip_len, frame_sample_rate, seg_len): a
// random window of clip_len · rate frames, clip_len points spread over it, clipped.
std::vector<std::int64_t> consecutive(std::int64_t frame_count, int clip_len, int frame_sample_rate, std::uint64_t seed);
// One random frame per segment.
std::vector<std::int64_t> random(std::int64_t frame_count, int num_frames, std::uint64_t seed);
// `clips` views for multi-view testing: clip k uses segment offsets shifted by k/clips of a
// segment (uniform) so that views cover different frames.
std::vector<std::vector<std::int64_t>> uniform_clips(std::int64_t frame_count, int num_frames, int clips);
// Restricts any sampler to [first, last]: returns first + indices of a sub-range sampler.
std::vector<std::int64_t> offset(const std::vector<std::int64_t>& indices, std::int64_t first);

}  // namespace sampling

enum class SamplingMethod {
  Uniform,      // sampling::uniform_clips (X-CLIP's evaluation protocol)
  Consecutive,  // sampling::consecutive (transformers' documented recipe)
  Random,       // sampling::random
};

// Which frames of a video make the model's input, as the CLI, the Python package and the
// workflow (pipeline.h) take them.
struct SamplingOptions {
  int num_frames = 0;  // 0 = the model's num_frames (a sampler given 0 alone is an error)
  SamplingMethod method = SamplingMethod::Uniform;
  int frame_sample_rate = 1;  // Consecutive only
  std::uint64_t seed = 0;     // Consecutive and Random; view k uses seed + k
  int clips = 1;              // views, averaged by the workflow (multi-view testing)
  double start = -1, end = -1;  // seconds; negative = from the first / to the last frame
  std::vector<std::int64_t> indices;  // explicit frame numbers: overrides everything above
};

struct SampledClips {
  std::vector<std::vector<std::int64_t>> indices;  // one index list per view
  bool repeated = false;  // the video (or its time range) has fewer frames than asked for
};

// Frame indices of every view of `reader`'s video. InvalidArgument for options that make no
// sense (num_frames <= 0, clips <= 0, end before start), FormatError for a frameless video.
SampledClips sample_clips(VideoReader& reader, const SamplingOptions& options);

// "uniform" / "consecutive" / "random" -> SamplingMethod (InvalidArgument otherwise).
SamplingMethod parse_sampling_method(const std::string& name);
// "exact" / "keyframe" <-> SeekMode, the names every front-end and index file uses
// (InvalidArgument for another name).
SeekMode parse_seek_mode(const std::string& name);
const char* seek_mode_name(SeekMode mode);

}  // namespace xclip
