#include "video_pipeline.h"

#include <unistd.h>

#include <cstdio>

namespace xclip::cli {

VideoPipeline::VideoPipeline(std::vector<std::string> paths, SamplingOptions sampling, const VideoProcessor& processor,
                             std::size_t capacity)
    : paths_(std::move(paths)), sampling_(std::move(sampling)), processor_(processor), capacity_(capacity) {
  worker_ = std::thread([this] { produce(); });
}

VideoPipeline::~VideoPipeline() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void VideoPipeline::produce() {
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    PreparedVideo v;
    v.position = i;
    v.path = paths_[i];
    try {
      VideoReader reader = VideoReader::open(paths_[i]);
      const SampledClips sampled = sample_clips(reader, sampling_);
      v.repeated = sampled.repeated;
      for (const auto& indices : sampled.indices) {
        const DecodedFrames frames = reader.frames_at(indices);
        v.clips.push_back(processor_.preprocess({frames.frames}));
      }
    } catch (const std::exception& e) {  // reported by the consumer; the run goes on
      v.error = e.what();
      v.clips.clear();
    }
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

std::optional<PreparedVideo> VideoPipeline::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || done_; });
  if (queue_.empty()) return std::nullopt;
  PreparedVideo v = std::move(queue_.front());
  queue_.pop_front();
  ++delivered_;
  changed_.notify_all();
  return v;
}

Progress::Progress(std::size_t total, bool enabled)
    : total_(total), enabled_(enabled && isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

void Progress::step() {
  ++done_;
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  const double eta = rate > 0 ? (total_ - done_) / rate : 0.0;
  std::fprintf(stderr, "\r[%zu/%zu] %.2f videos/s, ETA %.0f s   ", done_, total_, rate, eta);
  std::fflush(stderr);
}

void Progress::interrupt() {
  if (enabled_ && done_ > 0) std::fprintf(stderr, "\n");
}

void Progress::finish() {
  if (enabled_ && done_ > 0) std::fprintf(stderr, "\n");
}

}  // namespace xclip::cli
