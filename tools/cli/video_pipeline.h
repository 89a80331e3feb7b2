// Decoding runs ahead of inference: a producer thread opens, samples, decodes and
// preprocesses videos in input order into a bounded queue; the consumer takes them in order.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "video_sampling.h"
#include "xclip/xclip.h"

namespace xclip::cli {

struct PreparedVideo {
  std::size_t position = 0;  // index in the input list
  std::string path;
  std::vector<Tensor> clips;  // each F32 [1, T, 3, H, W]
  std::string error;          // non-empty when the video could not be read
  bool repeated = false;      // fewer frames than asked for: frames repeat
};

class VideoPipeline {
 public:
  VideoPipeline(std::vector<std::string> paths, SamplingOptions sampling, const VideoProcessor& processor,
                std::size_t capacity = 4);
  ~VideoPipeline();
  VideoPipeline(const VideoPipeline&) = delete;
  VideoPipeline& operator=(const VideoPipeline&) = delete;

  // The next video in input order; nullopt when all were delivered.
  std::optional<PreparedVideo> next();

 private:
  void produce();

  std::vector<std::string> paths_;
  SamplingOptions sampling_;
  const VideoProcessor& processor_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<PreparedVideo> queue_;
  bool done_ = false;
  bool stop_ = false;
  std::size_t delivered_ = 0;
  std::thread worker_;
};

// "[12/32] 3.1 videos/s, ETA 6 s" on stderr when it is a terminal.
class Progress {
 public:
  Progress(std::size_t total, bool enabled);
  void step();
  void finish();
  // Ends the progress line so that a message can be printed (no-op when not shown).
  void interrupt();

 private:
  std::size_t total_, done_ = 0;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace xclip::cli
