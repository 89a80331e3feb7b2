#include "batcher.h"

#include <cstring>

namespace xclip::server {

Batcher::Batcher(std::shared_ptr<const Model> model, const XCLIPProcessor& processor, BatcherOptions options,
                 BatchStats stats)
    : model_(std::move(model)),
      processor_(processor),
      options_(options),
      stats_(std::move(stats)),
      session_(model_),
      worker_([this] { run(); }) {}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

std::size_t Batcher::queue_depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queued_;
}

void Batcher::check_room(std::size_t adding) {
  if (queued_ + adding > options_.max_queue)
    throw QueueFull("the queue is full (" + std::to_string(queued_) + " items waiting, --max-queue " +
                    std::to_string(options_.max_queue) + "): retry later");
}

std::future<std::vector<std::vector<float>>> Batcher::embed_texts(std::vector<std::string> prompts) {
  // Parts of at most max_batch prompts (one forward each, never more), queued one after the
  // other: only the first can be refused (the queue is full now); the others wait for room,
  // so a request larger than the queue is served in turn instead of refused forever.
  const std::size_t part = std::max<std::size_t>(
      1, std::min<std::size_t>(static_cast<std::size_t>(options_.max_batch), options_.max_queue));
  std::vector<std::future<std::vector<std::vector<float>>>> parts;
  for (std::size_t begin = 0; begin < prompts.size(); begin += part) {
    const std::size_t end = std::min(prompts.size(), begin + part);
    TextItem item{std::vector<std::string>(prompts.begin() + static_cast<std::ptrdiff_t>(begin),
                                           prompts.begin() + static_cast<std::ptrdiff_t>(end)),
                  {}};
    parts.push_back(item.done.get_future());
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (begin == 0) {
        check_room(item.prompts.size());
      } else {
        changed_.wait(lock, [&] { return stop_ || queued_ + item.prompts.size() <= options_.max_queue; });
        if (stop_) throw QueueFull("the server is stopping");
      }
      queued_ += item.prompts.size();
      texts_.push_back(std::move(item));
    }
    changed_.notify_all();
  }
  return std::async(std::launch::deferred, [parts = std::move(parts)]() mutable {
    std::vector<std::vector<float>> rows;
    for (auto& p : parts)
      for (auto& row : p.get()) rows.push_back(std::move(row));
    return rows;
  });
}

std::future<VideoSearchFeatures> Batcher::embed_video(Tensor pixels) {
  VideoItem item{std::move(pixels), {}};
  auto future = item.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    check_room(1);
    ++queued_;
    videos_.push_back(std::move(item));
  }
  changed_.notify_all();
  return future;
}

void Batcher::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stop_ || !texts_.empty() || !videos_.empty(); });
    if (texts_.empty() && videos_.empty()) return;  // stopping, nothing left
    // Give other requests up to max_wait to join the batch (unless it is full already).
    const auto deadline = std::chrono::steady_clock::now() + options_.max_wait;
    const auto full = [&] {
      std::size_t prompts = 0;
      for (const TextItem& t : texts_) prompts += t.prompts.size();
      return stop_ || prompts >= static_cast<std::size_t>(options_.max_batch) ||
             videos_.size() >= static_cast<std::size_t>(options_.max_batch);
    };
    changed_.wait_until(lock, deadline, full);

    std::vector<TextItem> texts;
    std::size_t prompts = 0;
    while (!texts_.empty() && prompts + texts_.front().prompts.size() <= static_cast<std::size_t>(options_.max_batch)) {
      prompts += texts_.front().prompts.size();
      texts.push_back(std::move(texts_.front()));
      texts_.pop_front();
    }
    std::vector<VideoItem> videos;
    while (!videos_.empty() && videos.size() < static_cast<std::size_t>(options_.max_batch)) {
      videos.push_back(std::move(videos_.front()));
      videos_.pop_front();
    }
    queued_ -= prompts + videos.size();
    changed_.notify_all();  // room for requests waiting to queue their next part
    lock.unlock();
    if (!texts.empty()) run_texts(texts);
    if (!videos.empty()) run_videos(videos);
    lock.lock();
  }
}

// Published before any caller is answered, so a caller that reads /metrics after its reply sees
// the workspace its own forward pass needed.
void Batcher::note_workspace() { workspace_bytes_ = session_.workspace_bytes(); }

void Batcher::run_texts(std::vector<TextItem>& items) {
  try {
    std::vector<std::string> all;
    for (const TextItem& t : items) all.insert(all.end(), t.prompts.begin(), t.prompts.end());
    const Tensor features = prompt_features(session_, processor_.tokenizer(), all);
    note_workspace();
    const std::int64_t d = features.dim(1);
    std::int64_t row = 0;
    for (TextItem& t : items) {
      std::vector<std::vector<float>> rows;
      for (std::size_t i = 0; i < t.prompts.size(); ++i, ++row)
        rows.emplace_back(features.data<float>() + row * d, features.data<float>() + (row + 1) * d);
      t.done.set_value(std::move(rows));
    }
    if (stats_.on_batch) stats_.on_batch("text", all.size());
  } catch (...) {
    for (TextItem& t : items) t.done.set_exception(std::current_exception());
  }
}

void Batcher::run_videos(std::vector<VideoItem>& items) {
  // One forward needs equal shapes: group consecutive items of the same shape.
  std::size_t begin = 0;
  while (begin < items.size()) {
    std::size_t end = begin + 1;
    while (end < items.size() && items[end].pixels.shape() == items[begin].pixels.shape()) ++end;
    try {
      std::vector<std::int64_t> shape = items[begin].pixels.shape();
      const std::int64_t n = static_cast<std::int64_t>(end - begin);
      shape[0] = n;
      Tensor batch = Tensor::empty(DType::F32, shape);
      const std::size_t bytes = items[begin].pixels.nbytes();
      for (std::size_t i = begin; i < end; ++i)
        std::memcpy(static_cast<char*>(batch.mutable_raw()) + (i - begin) * bytes, items[i].pixels.raw(), bytes);
      const VideoSearchFeatures f = session_.get_video_search_features(batch);
      note_workspace();
      const std::int64_t d = f.video_embeds.dim(1), layers = f.prompt_keys_values.dim(0);
      const std::int64_t per_layer = f.prompt_keys_values.dim(2) * f.prompt_keys_values.dim(3);
      for (std::int64_t v = 0; v < n; ++v) {
        VideoSearchFeatures one;
        one.video_embeds = Tensor::from_values<float>(DType::F32, {1, d}, f.video_embeds.data<float>() + v * d);
        one.prompt_keys_values = Tensor::empty(
            DType::F32, {layers, 1, f.prompt_keys_values.dim(2), f.prompt_keys_values.dim(3)});
        for (std::int64_t l = 0; l < layers; ++l)
          std::memcpy(one.prompt_keys_values.mutable_data<float>() + l * per_layer,
                      f.prompt_keys_values.data<float>() + (l * n + v) * per_layer, sizeof(float) * per_layer);
        items[begin + static_cast<std::size_t>(v)].done.set_value(std::move(one));
      }
      if (stats_.on_batch) stats_.on_batch("video", static_cast<std::size_t>(n));
    } catch (...) {
      for (std::size_t i = begin; i < end; ++i) items[i].done.set_exception(std::current_exception());
    }
    begin = end;
  }
}

}  // namespace xclip::server
