// Frames of a live source in arrival order: anything FFmpeg opens (a file read once or
// followed as it grows, standard input, udp://, rtp://, rtsp://, http(s):// and HLS, a V4L2
// device), without the whole-file scan of the seekable reader. Each frame comes with its
// presentation timestamp; nothing waits past the timeouts (an interrupt callback bounds
// every blocking call). Corrupt packets are skipped and counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xclip/video.h"

namespace xclip::video {

struct StreamOptions {
  DecodeLimits limits;
  double open_timeout_seconds = 10;  // opening and probing the source
  double read_timeout_seconds = 10;  // no packet for this long: the source has stopped
  bool follow = false;               // a regular file: wait for more at its end (it grows)
  const std::atomic<bool>* stop = nullptr;  // set: blocking calls return at once
};

struct StreamFrame {
  std::int64_t pts = 0;          // presentation timestamp, stream time base
  double time_base = 0;          // seconds per pts unit
  int height = 0, width = 0;
  std::vector<std::uint8_t> rgb;  // RGB24, upright (as VideoReader gives it)
};

class StreamReader {
 public:
  // "-" is standard input. IoError naming the source when it cannot be opened in time.
  static std::unique_ptr<StreamReader> open(const std::string& source, const StreamOptions& options);
  ~StreamReader();
  // The next frame in presentation order; false at the end of the input. IoError when the
  // source stops answering (read timeout) or fails.
  bool next(StreamFrame& frame);
  const std::string& source() const;
  std::int64_t corrupt_packets() const;  // skipped so far
  double average_fps() const;            // from the stream header; 0 if unknown

  struct Impl;

 private:
  explicit StreamReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether `source` is a local file or standard input (read once: its end ends the watch)
// rather than a network source or device (reopened when it drops).
bool is_local_source(const std::string& source);

}  // namespace xclip::video
