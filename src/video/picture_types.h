// Reads the picture type of each packet of a stream with the codec's parser, to place the
// keyframes of streams without presentation times (display_order.h).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "video/display_order.h"
#include "video/ffmpeg_handles.h"

namespace xclip::video {

// The picture type of each packet, read by the codec's parser, for streams whose keyframes
// are placed in presentation order by type (display_order.h). Reads only when the first
// packet has no presentation time, the decoder reorders and the demuxer seeks exactly by its
// index (AVI): files with timestamps pay nothing.
class PictureTypeReader {
 public:
  PictureTypeReader(const AVStream* stream, bool seeks_by_index)
      : parameters_(stream->codecpar), wanted_(seeks_by_index && stream->codecpar->video_delay > 0) {}

  // The next packet of the stream, in decode order.
  void add(const AVPacket* packet);
  // Presentation index -> decode timestamp of the keyframes placed; empty unless every packet
  // was read and typed.
  std::map<std::int64_t, std::int64_t> keyframes() const;

 private:
  void start();

  const AVCodecParameters* parameters_;
  bool wanted_;
  bool first_ = true;
  ParserPtr parser_;
  CodecContextPtr context_;  // the parser's scratch (it writes sizes and profiles into it)
  std::vector<CodedPicture> pictures_;
};

}  // namespace xclip::video
