// Decoding runs ahead of inference: a producer thread prepares items (decoded, preprocessed
// videos or windows) in order into a bounded queue; the consumer takes them in order.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/parallel.h"
#include "xclip/processor.h"
#include "xclip/video.h"

namespace xclip::pipeline {

// Runs `produce(emit)` on a worker thread; emit(item) blocks while `capacity` items wait and
// returns false once the consumer is gone (the producer should then return). An exception
// escaping `produce` is rethrown by next().
template <class T>
class Prefetcher {
 public:
  using Emit = std::function<bool(T&&)>;

  Prefetcher(std::size_t capacity, std::function<void(const Emit&)> produce)
      : capacity_(capacity > 0 ? capacity : 1), produce_(std::move(produce)) {
    worker_ = std::thread([this] { run(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    worker_.join();
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The next item in production order; nullopt when all were delivered.
  std::optional<T> next() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (failure_) std::rethrow_exception(failure_);
      return std::nullopt;
    }
    T item = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return item;
  }

 private:
  void run() {
    // The consumer's inference owns the OpenMP team of the cores. Parallel regions started
    // here (preprocessing) would make a second team on the same cores, spinning while the
    // other computes: with both cores busy, a 1080p frame took 24 ms to preprocess on a team
    // of two and 2.3 ms on one thread. The producer's share is small per item; it runs here.
    set_num_threads(1);
    try {
      produce_([this](T&& item) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return stop_ || queue_.size() < capacity_; });
        if (stop_) return false;
        queue_.push_back(std::move(item));
        changed_.notify_all();
        return true;
      });
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      failure_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    changed_.notify_all();
  }

  std::size_t capacity_;
  std::function<void(const Emit&)> produce_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<T> queue_;
  bool done_ = false, stop_ = false;
  std::exception_ptr failure_;
  std::thread worker_;  // last: starts after everything above exists
};

struct PreparedVideo {
  std::size_t position = 0;  // index in the input list
  std::string path;
  std::vector<Tensor> clips;  // each F32 [1, T, 3, H, W]
  std::vector<std::vector<std::int64_t>> indices;  // frame numbers of each clip (as decoded)
  std::string error;          // non-empty when the video could not be read
  bool repeated = false;      // fewer frames than asked for: frames repeat
};

// Whole videos sampled as `sampling` says, in input order.
class VideoPrefetcher {
 public:
  // `processor` must outlive the prefetcher. `capacity` videos wait at most.
  VideoPrefetcher(std::vector<std::string> paths, SamplingOptions sampling, const VideoProcessor& processor,
                  std::size_t capacity, VideoOpenOptions open_options);

  std::optional<PreparedVideo> next() { return prefetcher_.next(); }

 private:
  PreparedVideo prepare(std::size_t position) const;

  std::vector<std::string> paths_;
  SamplingOptions sampling_;
  const VideoProcessor& processor_;
  VideoOpenOptions open_options_;
  Prefetcher<PreparedVideo> prefetcher_;  // last: its thread reads the members above
};

}  // namespace xclip::pipeline
