// Decoded pictures to upright RGB24 as the ffmpeg CLI makes them (its colour matrix and
// range choice, its rotation order for high bit depths): shared by the seekable reader and
// the stream reader, so that a frame read either way has the same bytes.
#pragma once

extern "C" {
#include <libavformat/avformat.h>
}

#include <cstdint>
#include <string>
#include <utility>

#include "video/ffmpeg_handles.h"
#include "xclip/video.h"

namespace xclip::video {

// Clockwise degrees (0, 90, 180, 270) a stream's display matrix asks for, as ffmpeg's
// autorotate snaps it.
int rotation_of(const AVStream* stream);

// InvalidArgument naming `source` when a width x height frame exceeds the limits.
void check_pixel_limit(const std::string& source, std::int64_t width, std::int64_t height, const DecodeLimits& limits);

class FrameConverter {
 public:
  FrameConverter(std::string source, DecodeLimits limits) : source_(std::move(source)), limits_(limits) {}
  void set_rotation(int degrees) { rotation_ = degrees; }
  int rotation() const { return rotation_; }
  // (height, width) of `frame` once turned upright.
  std::pair<int, int> displayed_size(const AVFrame* frame) const;
  // RGB24 of `frame`, upright, into `dst` (displayed_size(frame) x 3 bytes).
  void convert(const AVFrame* frame, std::uint8_t* dst);
  void reset() { sws_.reset(); }

 private:
  static bool rotates_before_converting(AVPixelFormat format);
  FramePtr rotated_planes(const AVFrame* frame) const;
  std::pair<int, int> source_of(int r, int c, int h, int w) const;

  std::string source_;
  DecodeLimits limits_;
  int rotation_ = 0;
  SwsPtr sws_;
};

}  // namespace xclip::video
