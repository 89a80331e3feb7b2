#include "pipeline/prefetch.h"

#include <algorithm>

namespace xclip::pipeline {

VideoPrefetcher::VideoPrefetcher(std::vector<std::string> paths, SamplingOptions sampling,
                                 const VideoProcessor& processor, std::size_t capacity, VideoOpenOptions open_options)
    : paths_(std::move(paths)),
      sampling_(std::move(sampling)),
      processor_(processor),
      capacity_(std::max<std::size_t>(capacity, 1)),
      open_options_(open_options) {
  worker_ = std::thread([this] { produce(); });
}

VideoPrefetcher::~VideoPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

PreparedVideo VideoPrefetcher::prepare(std::size_t position) const {
  PreparedVideo v;
  v.position = position;
  v.path = paths_[position];
  try {
    VideoReader reader = VideoReader::open(v.path, open_options_);
    const SampledClips sampled = sample_clips(reader, sampling_);
    v.repeated = sampled.repeated;
    for (const auto& indices : sampled.indices) {
      DecodedFrames frames = reader.frames_at(indices);
      v.clips.push_back(processor_.preprocess({frames.frames}));
      v.indices.push_back(std::move(frames.indices));  // the keyframes used, in keyframe mode
    }
  } catch (const std::exception& e) {  // reported with the video's result; the run goes on
    v.error = e.what();
    v.clips.clear();
    v.indices.clear();
  }
  return v;
}

void VideoPrefetcher::produce() {
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    PreparedVideo v = prepare(i);
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return stop_ || queue_.size() < capacity_; });
    if (stop_) return;
    queue_.push_back(std::move(v));
    changed_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = true;
  changed_.notify_all();
}

std::optional<PreparedVideo> VideoPrefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || done_; });
  if (queue_.empty()) return std::nullopt;
  PreparedVideo v = std::move(queue_.front());
  queue_.pop_front();
  changed_.notify_all();
  return v;
}

}  // namespace xclip::pipeline
