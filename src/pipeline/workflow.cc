// Workflow: prefetched videos -> batches -> forward -> per-video results in input order.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "pipeline/prefetch.h"
#include "xclip/pipeline.h"

namespace xclip {

namespace {

using pipeline::PreparedVideo;

// [1, T, 3, H, W] clips of several videos -> one [clips, T, 3, H, W] batch.
Tensor concatenate_clips(const std::vector<PreparedVideo>& videos) {
  std::vector<const Tensor*> clips;
  for (const PreparedVideo& v : videos)
    for (const Tensor& c : v.clips) clips.push_back(&c);
  std::vector<std::int64_t> shape = clips.front()->shape();
  shape[0] = static_cast<std::int64_t>(clips.size());
  Tensor batch = Tensor::empty(DType::F32, shape);
  char* dst = static_cast<char*>(batch.mutable_raw());
  for (const Tensor* c : clips) {
    std::memcpy(dst, c->raw(), c->nbytes());
    dst += c->nbytes();
  }
  return batch;
}

VideoResult result_of(const PreparedVideo& v) {
  VideoResult r;
  r.position = v.position;
  r.path = v.path;
  r.error = v.error;
  r.repeated_frames = v.repeated;
  r.frame_indices = v.indices;
  return r;
}

}  // namespace

struct Workflow::Impl {
  std::shared_ptr<const Model> model;
  XCLIPProcessor processor;
  WorkflowOptions options;
  Session session;

  Impl(std::shared_ptr<const Model> m, XCLIPProcessor p, WorkflowOptions o)
      : model(std::move(m)), processor(std::move(p)), options(std::move(o)), session(model) {
    options.sampling.num_frames = frames_for_model(*model, options.sampling);
    XCLIP_CHECK(options.batch_size > 0, InvalidArgument) << "batch size must be positive, got " << options.batch_size;
  }

  // get_text_features of the template's prompts.
  Tensor text_features(const std::vector<std::string>& texts, bool normalize) {
    XCLIP_CHECK(!texts.empty(), InvalidArgument) << "no texts to embed";
    std::vector<std::string> prompts;
    for (const std::string& t : texts) prompts.push_back(apply_template(options.text_template, t));
    Tensor features = prompt_features(session, processor.tokenizer(), prompts);
    if (normalize) {
      const std::int64_t d = features.dim(1);
      for (std::int64_t i = 0; i < features.dim(0); ++i)
        l2_normalize(features.mutable_data<float>() + i * d, static_cast<std::size_t>(d));
    }
    return features;
  }

  // Runs `forward` on batches of up to batch_size videos (clips of equal shape) and calls
  // `finish(video, output, first row)` for each, in input order; failed videos go straight
  // to `on_result`.
  template <class Forward, class Finish>
  std::size_t run(const std::vector<std::string>& paths, Forward forward, Finish finish, const ResultCallback& on_result,
                  const ProgressCallback& on_progress) {
    const auto start = std::chrono::steady_clock::now();
    WorkflowProgress progress;
    progress.total = paths.size();
    auto report = [&](const VideoResult& r) {
      ++progress.done;
      if (!r.ok()) ++progress.failed;
      progress.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (on_result) on_result(r);
      if (on_progress) on_progress(progress);
    };
    VideoOpenOptions open;
    open.threads = options.decode_threads;
    open.seek = options.seek;
    open.limits = options.decode_limits;
    pipeline::VideoPrefetcher prefetcher(paths, options.sampling, processor.video_processor(), options.prefetch,
                                         open);
    std::vector<PreparedVideo> pending;
    auto flush = [&]() {
      if (pending.empty()) return;
      const Tensor out = forward(concatenate_clips(pending));  // [clips, ...]
      std::int64_t row = 0;
      for (const PreparedVideo& v : pending) {
        VideoResult r = result_of(v);
        finish(v, out, row, r);
        row += static_cast<std::int64_t>(v.clips.size());
        report(r);
      }
      pending.clear();
    };
    while (auto v = prefetcher.next()) {
      if (!v->error.empty()) {
        flush();  // keeps results in input order
        report(result_of(*v));
        continue;
      }
      if (!pending.empty() && v->clips.front().shape() != pending.front().clips.front().shape()) flush();
      pending.push_back(std::move(*v));
      if (static_cast<int>(pending.size()) >= options.batch_size) flush();
    }
    flush();
    return progress.failed;
  }
};

Workflow::Workflow(const std::string& model, WorkflowOptions options) {
  LoadOptions load;
  load.num_threads = options.num_threads;
  load.weights = options.dtype;
  load.hub = options.hub;
  load.interpolate_frames = options.interpolate_frames;
  std::shared_ptr<const Model> m = Model::load(model, load);
  XCLIPProcessor processor = XCLIPProcessor::from_folder(m->path(), options.backend);
  impl_ = std::make_unique<Impl>(std::move(m), std::move(processor), std::move(options));
}

Workflow::Workflow(std::shared_ptr<const Model> model, XCLIPProcessor processor, WorkflowOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(processor), std::move(options))) {}

Workflow::~Workflow() = default;

const std::shared_ptr<const Model>& Workflow::model() const { return impl_->model; }
const XCLIPProcessor& Workflow::processor() const { return impl_->processor; }
const WorkflowOptions& Workflow::options() const { return impl_->options; }

Tensor Workflow::embed_texts(const std::vector<std::string>& texts) {
  return impl_->text_features(texts, impl_->options.normalize);
}

std::size_t Workflow::classify(const std::vector<std::string>& paths, const std::vector<std::string>& labels,
                               const ResultCallback& on_result, const ProgressCallback& on_progress) {
  XCLIP_CHECK(!labels.empty(), InvalidArgument) << "no labels to classify with";
  // Raw features: the head normalises the video-conditioned prompts itself.
  return classify(paths, impl_->text_features(labels, false), on_result, on_progress);
}

std::size_t Workflow::classify(const std::vector<std::string>& paths, const Tensor& label_features,
                               const ResultCallback& on_result, const ProgressCallback& on_progress) {
  Session& session = impl_->session;
  const std::size_t n = label_features.defined() && label_features.rank() == 2
                            ? static_cast<std::size_t>(label_features.dim(0)) : 0;
  return impl_->run(
      paths,
      [&](const Tensor& pixels) { return session.forward_with_text_features(pixels, label_features).at("logits_per_video"); },
      [&](const PreparedVideo& v, const Tensor& logits, std::int64_t row, VideoResult& r) {
        ViewAverage a = average_view_scores(logits.data<float>() + static_cast<std::size_t>(row) * n, v.clips.size(), n);
        r.probabilities = std::move(a.probabilities);
        r.logits = std::move(a.logits);
      },
      on_result, on_progress);
}

std::size_t Workflow::embed_videos(const std::vector<std::string>& paths, const ResultCallback& on_result,
                                   const ProgressCallback& on_progress) {
  Session& session = impl_->session;
  const bool normalize = impl_->options.normalize;
  return impl_->run(
      paths, [&](const Tensor& pixels) { return session.get_video_features(pixels); },
      [&](const PreparedVideo& v, const Tensor& features, std::int64_t row, VideoResult& r) {
        const auto d = static_cast<std::size_t>(features.dim(1));
        r.embedding = average_view_embeddings(features.data<float>() + static_cast<std::size_t>(row) * d, v.clips.size(), d);
        if (normalize) l2_normalize(r.embedding.data(), r.embedding.size());
      },
      on_result, on_progress);
}

}  // namespace xclip
