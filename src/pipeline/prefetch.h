// Decoding runs ahead of inference: a producer thread opens, samples, decodes and
// preprocesses videos in input order into a bounded queue; the consumer takes them in order.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "xclip/processor.h"
#include "xclip/video.h"

namespace xclip::pipeline {

struct PreparedVideo {
  std::size_t position = 0;  // index in the input list
  std::string path;
  std::vector<Tensor> clips;  // each F32 [1, T, 3, H, W]
  std::vector<std::vector<std::int64_t>> indices;  // frame numbers of each clip (as decoded)
  std::string error;          // non-empty when the video could not be read
  bool repeated = false;      // fewer frames than asked for: frames repeat
};

class VideoPrefetcher {
 public:
  // `processor` must outlive the prefetcher. `capacity` videos wait at most.
  VideoPrefetcher(std::vector<std::string> paths, SamplingOptions sampling, const VideoProcessor& processor,
                  std::size_t capacity, VideoOpenOptions open_options);
  ~VideoPrefetcher();
  VideoPrefetcher(const VideoPrefetcher&) = delete;
  VideoPrefetcher& operator=(const VideoPrefetcher&) = delete;

  // The next video in input order; nullopt when all were delivered.
  std::optional<PreparedVideo> next();

 private:
  void produce();
  PreparedVideo prepare(std::size_t position) const;

  std::vector<std::string> paths_;
  SamplingOptions sampling_;
  const VideoProcessor& processor_;
  std::size_t capacity_;
  VideoOpenOptions open_options_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<PreparedVideo> queue_;
  bool done_ = false;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace xclip::pipeline
