// Dynamic batching for the server: concurrent requests' texts and videos share forward
// passes. Requests queue their items; one worker thread (which owns the model session)
// takes up to `max_batch` items, waiting at most `max_wait` after the first, runs one
// forward for all of them and fulfils each request's future. A full queue refuses new work
// at once (the server answers 429).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "xclip/xclip.h"

namespace xclip::server {

class QueueFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct BatcherOptions {
  int max_batch = 32;  // texts or videos per forward
  std::chrono::microseconds max_wait{5000};
  std::size_t max_queue = 256;  // items waiting; beyond it, submissions throw QueueFull
};

struct BatchStats {
  std::function<void(const char* kind, std::size_t size)> on_batch;  // after every forward
};

class Batcher {
 public:
  Batcher(std::shared_ptr<const Model> model, const XCLIPProcessor& processor, BatcherOptions options,
          BatchStats stats = {});
  ~Batcher();  // finishes what is queued, then stops
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // get_text_features rows [projection_dim] of the prompts (raw, as the model gives them).
  std::future<std::vector<std::vector<float>>> embed_texts(std::vector<std::string> prompts);
  // get_video_search_features of one preprocessed video [1, T, 3, H, W].
  std::future<VideoSearchFeatures> embed_video(Tensor pixels);
  // Texts (counted by prompt) and videos waiting.
  std::size_t queue_depth() const;
  // The worker session's activation memory (its high-water mark, bounded by max_batch).
  std::size_t workspace_bytes() const { return workspace_bytes_; }

 private:
  struct TextItem {
    std::vector<std::string> prompts;
    std::promise<std::vector<std::vector<float>>> done;
  };
  struct VideoItem {
    Tensor pixels;
    std::promise<VideoSearchFeatures> done;
  };

  void run();
  void run_texts(std::vector<TextItem>& items);
  void run_videos(std::vector<VideoItem>& items);
  void note_workspace();
  void check_room(std::size_t adding);

  std::shared_ptr<const Model> model_;
  const XCLIPProcessor& processor_;
  BatcherOptions options_;
  BatchStats stats_;
  Session session_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<TextItem> texts_;
  std::deque<VideoItem> videos_;
  std::size_t queued_ = 0;  // texts (counted by prompt) and videos waiting
  bool stop_ = false;
  std::atomic<std::size_t> workspace_bytes_{0};
  std::thread worker_;
};

}  // namespace xclip::server
