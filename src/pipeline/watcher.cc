// Watcher: a decoding thread reads the source in arrival order and cuts it into windows; the
// calling thread scores each window, tracks events and hands the records over.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/mmap_file.h"
#include "pipeline/event_delivery.h"
#include "video/jpeg.h"
#include "video/stream_reader.h"
#include "xclip/pipeline.h"
#include "xclip/watch.h"

namespace xclip {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A decoded frame reduced to the model's input, with its place in stream time.
struct HeldFrame {
  std::int64_t rel = 0;     // timestamp since the first frame, in the first stream's time base
  std::int64_t number = 0;  // arrival order since the watch began
  Tensor pixels;            // F32 [3, H, W]
};

// A closed window, ready to score.
struct ReadyWindow {
  std::int64_t index = 0;
  double start = 0, end = 0;
  Tensor clip;  // F32 [1, T, 3, H, W]
  std::vector<std::int64_t> frames;
  Tensor middle;  // F32 [3, H, W]: the thumbnail's frame
  Clock::time_point closed_at;
  std::vector<WatchRecord> before;  // skips and gaps to report first, in order
  bool end_of_stream = false;
  bool keep = false;  // closed by the end of input or a break: never skipped (nothing comes after)
  std::string error;  // the watch failed for good
};

// Cuts frames into windows [k·stride, k·stride + window) of stream time. A window takes the
// frame shown at its start to the frame shown at its end, as VideoReader::index_at_time
// picks them on a file (the last frame whose timestamp is at or before each time), and
// closes when a later frame arrives or the input ends.
class WindowAssembler {
 public:
  WindowAssembler(double window, double stride, int num_frames, int max_frames)
      : window_(window), stride_(stride), num_frames_(num_frames), max_frames_(max_frames) {}

  void set_time_base(double tb) { tb_ = tb; }
  double seconds(std::int64_t rel) const { return static_cast<double>(rel) * tb_; }

  template <class Emit>
  void add(HeldFrame frame, const Emit& emit) {
    while (!frames_.empty() && frame.rel > threshold(window_end(next_))) close_next(emit);
    frames_.push_back(std::move(frame));
    XCLIP_CHECK(static_cast<int>(frames_.size()) <= max_frames_ + 1, InvalidArgument)
        << "a window of " << window_ << " s holds more than " << max_frames_
        << " frames (raise the limit with --max-frames, or shorten --window)";
  }

  // The input ended (or broke): every window that has begun closes with what it has.
  template <class Emit>
  void finish(const Emit& emit) {
    while (!frames_.empty() && threshold(window_start(next_)) <= frames_.back().rel) close_next(emit);
    frames_.clear();
  }

  // After a break: windows resume at the first one starting at or after `rel`.
  void restart_at(std::int64_t rel) {
    next_ = std::max<std::int64_t>(next_, static_cast<std::int64_t>(std::ceil(seconds(rel) / stride_ - 1e-9)));
  }

 private:
  double window_start(std::int64_t k) const { return static_cast<double>(k) * stride_; }
  double window_end(std::int64_t k) const { return window_start(k) + window_; }
  // The last timestamp at or before `t` seconds, as index_at_time rounds it.
  std::int64_t threshold(double t) const { return static_cast<std::int64_t>(std::floor(t / tb_ + 1e-6)); }

  // Position of the frame shown at `t`: the last one at or before it (the first if none is).
  std::size_t shown_at(double t) const {
    const std::int64_t limit = threshold(t);
    std::size_t i = 0;
    while (i + 1 < frames_.size() && frames_[i + 1].rel <= limit) ++i;
    return i;
  }

  template <class Emit>
  void close_next(const Emit& emit) {
    const std::int64_t k = next_++;
    const std::size_t first = shown_at(window_start(k)), last = shown_at(window_end(k));
    const std::int64_t span = static_cast<std::int64_t>(last - first + 1);
    const std::vector<std::int64_t> picks = sampling::uniform_clips(span, num_frames_, 1).front();
    ReadyWindow w;
    w.index = k;
    w.start = window_start(k);
    w.end = window_end(k);
    const Tensor& one = frames_[first].pixels;
    w.clip = Tensor::empty(DType::F32, {1, num_frames_, one.dim(0), one.dim(1), one.dim(2)});
    const std::size_t floats = static_cast<std::size_t>(one.numel());
    for (std::size_t i = 0; i < picks.size(); ++i) {
      const HeldFrame& f = frames_[first + static_cast<std::size_t>(picks[i])];
      std::memcpy(w.clip.mutable_data<float>() + i * floats, f.pixels.data<float>(), floats * sizeof(float));
      w.frames.push_back(f.number);
    }
    w.middle = frames_[first + static_cast<std::size_t>(picks[picks.size() / 2])].pixels;
    w.closed_at = Clock::now();
    // Frames before the one shown at the next window's start are no longer needed.
    const std::size_t keep = shown_at(window_start(next_));
    frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(keep));
    emit(std::move(w));
  }

  double window_, stride_;
  int num_frames_, max_frames_;
  double tb_ = 1.0;
  std::int64_t next_ = 0;
  std::deque<HeldFrame> frames_;
};

// Closed windows from the decoding thread to the analysis: at most one waits when windows
// may be skipped (a newer one replaces it, and the skip is reported), else the decoder waits.
class WindowQueue {
 public:
  explicit WindowQueue(bool skip) : skip_(skip) {}

  void push(ReadyWindow w, std::int64_t& skipped) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (skip_ && !w.end_of_stream && w.error.empty() && !w.keep) {
      if (!items_.empty() && !items_.back().end_of_stream && !items_.back().keep) {
        ReadyWindow old = std::move(items_.back());
        items_.pop_back();
        ++skipped;
        WatchRecord skip;
        skip.type = WatchRecordType::Skip;
        skip.window = old.index;
        skip.start = old.start;
        skip.end = old.end;
        skip.skipped_total = skipped;
        skip.message = "the analysis of earlier windows took longer than the stride";
        w.before.insert(w.before.begin(), old.before.begin(), old.before.end());
        w.before.push_back(skip);
        // The newest window is analysed: the skipped one's records go first.
        std::stable_sort(w.before.begin(), w.before.end(),
                         [](const WatchRecord& a, const WatchRecord& b) { return a.start < b.start; });
      }
    } else {
      space_.wait(lock, [&] { return items_.size() < 2 || w.end_of_stream || !w.error.empty(); });  // the decoder waits
    }
    items_.push_back(std::move(w));
    ready_.notify_one();
  }

  ReadyWindow pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return !items_.empty(); });
    ReadyWindow w = std::move(items_.front());
    items_.pop_front();
    space_.notify_one();
    return w;
  }

 private:
  bool skip_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<ReadyWindow> items_;
};

std::vector<std::uint8_t> thumbnail_jpeg(const Tensor& pixels, const ImageProcessorConfig& c) {
  const int h = static_cast<int>(pixels.dim(1)), w = static_cast<int>(pixels.dim(2));
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(h) * w * 3);
  const float* p = pixels.data<float>();
  for (int ch = 0; ch < 3; ++ch)
    for (int i = 0; i < h * w; ++i) {
      double v = p[static_cast<std::size_t>(ch) * h * w + i];
      if (c.do_normalize) v = v * c.image_std[static_cast<std::size_t>(ch)] + c.image_mean[static_cast<std::size_t>(ch)];
      if (c.do_rescale) v /= c.rescale_factor;
      rgb[static_cast<std::size_t>(i) * 3 + ch] = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
  return video::encode_jpeg_thumbnail(rgb.data(), w, h, std::max(w, h));
}

}  // namespace

const char* watch_record_type_name(WatchRecordType t) {
  switch (t) {
    case WatchRecordType::Window: return "window";
    case WatchRecordType::EventStart:
    case WatchRecordType::EventEnd: return "event";
    case WatchRecordType::Skip: return "skip";
    case WatchRecordType::Gap: return "gap";
    case WatchRecordType::Status: return "status";
  }
  return "status";
}

std::string watch_record_json(const WatchRecord& r) {
  nlohmann::ordered_json j;
  j["type"] = watch_record_type_name(r.type);
  switch (r.type) {
    case WatchRecordType::Window: {
      j["window"] = r.window;
      j["start"] = r.start;
      j["end"] = r.end;
      j["wall_time"] = r.wall_time;
      j["latency_ms"] = r.latency_ms;
      j["frame_indices"] = r.frames;
      if (!r.labels.empty()) {
        nlohmann::ordered_json labels = nlohmann::ordered_json::array();
        for (const WatchScore& s : r.labels)
          labels.push_back({{"label", s.text}, {"probability", s.score}, {"logit", s.logit}});
        j["labels"] = labels;
      }
      if (!r.queries.empty()) {
        nlohmann::ordered_json queries = nlohmann::ordered_json::array();
        for (const WatchScore& s : r.queries) queries.push_back({{"query", s.text}, {"score", s.score}, {"logit", s.logit}});
        j["queries"] = queries;
      }
      break;
    }
    case WatchRecordType::EventStart:
    case WatchRecordType::EventEnd:
      j["state"] = r.type == WatchRecordType::EventStart ? "start" : "end";
      j[r.is_query ? "query" : "label"] = r.target;
      j["start"] = r.start;
      if (r.type == WatchRecordType::EventEnd) j["end"] = r.end;
      j["peak"] = r.peak;
      j["peak_window"] = r.window;
      j["wall_time"] = r.wall_time;
      if (!r.thumbnail.empty()) j["thumbnail"] = r.thumbnail;
      break;
    case WatchRecordType::Skip:
      j["window"] = r.window;
      j["start"] = r.start;
      j["end"] = r.end;
      j["skipped_total"] = r.skipped_total;
      j["reason"] = r.message;
      break;
    case WatchRecordType::Gap:
      j["start"] = r.start;
      j["end"] = r.end;
      j["reason"] = r.message;
      break;
    case WatchRecordType::Status:
      j["wall_time"] = r.wall_time;
      j["message"] = r.message;
      break;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct Watcher::Impl {
  WatchOptions options;
  std::unique_ptr<Workflow> workflow;
  std::unique_ptr<Session> session;
  Tensor text_features;  // labels, then queries, then background prompts
  int num_frames = 0;

  explicit Impl(const WatchOptions& o) : options(o) {
    XCLIP_CHECK(!o.labels.empty() || !o.queries.empty(), InvalidArgument)
        << "nothing to watch for: give labels (--labels) or queries (--query)";
    XCLIP_CHECK(o.window_seconds > 0 && o.stride_seconds > 0, InvalidArgument)
        << "window and stride must be positive, got " << o.window_seconds << " s and " << o.stride_seconds << " s";
    XCLIP_CHECK(o.stride_seconds <= o.window_seconds, InvalidArgument)
        << "a stride (" << o.stride_seconds << " s) longer than the window (" << o.window_seconds
        << " s) would leave frames unwatched";
    XCLIP_CHECK(o.max_frames_per_window > 0, InvalidArgument) << "max frames per window must be positive";
    EventTracker check(o.events);  // validates the thresholds
    WorkflowOptions w;
    w.dtype = o.dtype;
    w.num_threads = o.num_threads;
    w.hub = o.hub;
    w.text_template = o.text_template;
    workflow = o.loaded_model ? std::make_unique<Workflow>(o.loaded_model,
                                                           XCLIPProcessor::from_folder(o.loaded_model->path()), w)
                              : std::make_unique<Workflow>(o.model, w);
    num_frames = o.num_frames > 0 ? o.num_frames : workflow->model()->config().vision_config.num_frames;
    XCLIP_CHECK(num_frames == workflow->model()->config().vision_config.num_frames, InvalidArgument)
        << "this model takes " << workflow->model()->config().vision_config.num_frames << " frames per window, not "
        << num_frames;
    std::vector<std::string> texts = o.labels;
    texts.insert(texts.end(), o.queries.begin(), o.queries.end());
    texts.insert(texts.end(), o.background.begin(), o.background.end());
    text_features = workflow->embed_texts(texts);
    session = std::make_unique<Session>(workflow->model());
    if (!o.thumbnails_dir.empty()) {
      std::error_code ec;
      fs::create_directories(o.thumbnails_dir, ec);
      XCLIP_CHECK(!ec, IoError) << o.thumbnails_dir << ": cannot create the thumbnail folder: " << ec.message();
    }
  }

  // ---- the decoding thread ----

  void decode(const std::string& source, WindowQueue& queue, const std::atomic<bool>* stop, WatchSummary& summary,
              std::int64_t& skipped) {
    const bool local = video::is_local_source(source);
    video::StreamOptions so;
    so.limits = options.decode_limits;
    so.open_timeout_seconds = options.open_timeout_seconds;
    so.read_timeout_seconds = options.read_timeout_seconds;
    so.follow = options.follow;
    so.stop = stop;
    const VideoProcessor& processor = workflow->processor().video_processor();
    WindowAssembler windows(options.window_seconds, options.stride_seconds, num_frames, options.max_frames_per_window);
    std::vector<WatchRecord> pending;  // gaps and status lines for the next window
    const auto emit = [&](ReadyWindow w) {
      w.before.insert(w.before.begin(), pending.begin(), pending.end());
      pending.clear();
      queue.push(std::move(w), skipped);
    };
    const auto emit_final = [&](ReadyWindow w) {
      w.keep = true;
      emit(std::move(w));
    };
    const auto note = [&](WatchRecordType type, double start, double end, const std::string& message) {
      WatchRecord r;
      r.type = type;
      r.start = start;
      r.end = end;
      r.wall_time = unix_now();
      r.message = message;
      pending.push_back(r);
    };
    bool connected_once = false, have_first = false;
    std::int64_t origin = 0, offset = 0, last_rel = 0, step = 1;  // step: the frame interval seen
    double first_tb = 0;
    int failures = 0;
    double delay = 0.5;
    Clock::time_point lost_at;
    bool broke = false;
    ReadyWindow last;
    last.end_of_stream = true;
    try {
      for (;;) {
        std::unique_ptr<video::StreamReader> reader;
        const auto count_corrupt = [&] {
          if (reader) summary.corrupt_packets += reader->corrupt_packets();
          reader.reset();
        };
        try {
          reader = video::StreamReader::open(source, so);
          bool fresh_stream = true;
          video::StreamFrame frame;
          while (!(stop && stop->load()) && reader->next(frame)) {
            connected_once = true;
            failures = 0;
            delay = 0.5;
            if (!have_first) {
              have_first = true;
              origin = frame.pts;
              first_tb = frame.time_base;
              windows.set_time_base(first_tb);
            }
            const double scale = frame.time_base / first_tb;
            const bool resumed = fresh_stream && broke;
            if (resumed) {
              // The source came back: stream time goes on by the time it was away.
              const double away = std::chrono::duration<double>(Clock::now() - lost_at).count();
              const std::int64_t resume = last_rel + std::max<std::int64_t>(step, std::llround(away / first_tb));
              offset = resume - std::llround(static_cast<double>(frame.pts - origin) * scale);
              note(WatchRecordType::Gap, windows.seconds(last_rel), windows.seconds(resume),
                   "the source dropped and was reopened");
              windows.restart_at(resume);
            }
            fresh_stream = false;
            std::int64_t rel = offset + std::llround(static_cast<double>(frame.pts - origin) * scale);
            if (resumed) {
              // reported above
            } else if (summary.frames > 0 && rel <= last_rel) {
              // Timestamps went back (a reset, a wrap): time goes on one frame later.
              const std::int64_t resume = last_rel + step;
              offset += resume - rel;
              if (rel < last_rel)
                note(WatchRecordType::Gap, windows.seconds(last_rel), windows.seconds(resume),
                     "the timestamps went back by " + std::to_string(windows.seconds(last_rel - rel)) + " s");
              rel = resume;
            } else if (summary.frames > 0 && windows.seconds(rel - last_rel) > std::max(5.0, options.window_seconds)) {
              windows.finish(emit_final);  // nothing was shown for a while: close what began before
              note(WatchRecordType::Gap, windows.seconds(last_rel), windows.seconds(rel),
                   "no frames for " + std::to_string(windows.seconds(rel - last_rel)) + " s");
              windows.restart_at(rel);
            }
            if (!resumed && (summary.frames == 1 || (summary.frames > 1 && rel - last_rel < step)))
              step = std::max<std::int64_t>(1, rel - last_rel);
            last_rel = rel;
            Tensor one = Tensor::empty(DType::U8, {1, frame.height, frame.width, 3});
            std::memcpy(one.mutable_raw(), frame.rgb.data(), frame.rgb.size());
            const Tensor pixels = processor.preprocess_video(one);  // [1, 3, H, W]
            windows.add(HeldFrame{rel, summary.frames++, pixels.reshaped({pixels.dim(1), pixels.dim(2), pixels.dim(3)})},
                        emit);
          }
          count_corrupt();
          if (local || (stop && stop->load())) break;
          XCLIP_FAIL(IoError) << source << ": the stream ended";
        } catch (const IoError& e) {
          count_corrupt();
          if (stop && stop->load()) break;
          // A source never reached, or a file, fails at once; a stream that dropped is reopened.
          if (local || !connected_once) throw;
          if (options.max_reconnects >= 0 && failures >= options.max_reconnects) throw;
          if (!broke || failures == 0) {
            windows.finish(emit_final);
            lost_at = Clock::now();
          }
          broke = true;
          ++failures;
          ++summary.reconnects;
          note(WatchRecordType::Status, 0, 0,
               std::string(e.what()) + "; reopening in " + std::to_string(delay) + " s");
          const auto until = Clock::now() + std::chrono::duration<double>(delay);
          while (Clock::now() < until && !(stop && stop->load()))
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          delay = std::min(delay * 2, options.max_reconnect_delay_seconds);
        }
      }
      windows.finish(emit_final);
    } catch (const std::exception& e) {
      last.error = e.what();
    }
    last.before = pending;
    queue.push(std::move(last), skipped);
  }

  // ---- the analysis (calling thread) ----

  struct Target {
    std::string text;
    bool is_query = false;
    EventTracker tracker;
    std::int64_t event_number = -1;
    std::string thumbnail;
  };

  void score(const ReadyWindow& w, WatchRecord& r) {
    const Tensor logits = session->forward_with_text_features(w.clip, text_features).at("logits_per_video");
    const float* l = logits.data<float>();
    const std::size_t labels = options.labels.size(), queries = options.queries.size();
    if (labels > 0) {
      const std::vector<double> p = softmax(l, labels);
      for (std::size_t i = 0; i < labels; ++i) r.labels.push_back({options.labels[i], p[i], l[i]});
    }
    const float* background = l + labels + queries;
    for (std::size_t q = 0; q < queries; ++q) {
      const float logit = l[labels + q];
      double s = logit;
      if (!options.background.empty()) {
        // The query's probability against the background prompts: a score with a meaning.
        std::vector<float> set{logit};
        set.insert(set.end(), background, background + options.background.size());
        s = softmax(set.data(), set.size()).front();
      }
      r.queries.push_back({options.queries[q], s, logit});
    }
  }

  WatchSummary run(const std::string& source, const WatchCallback& on_record, const std::atomic<bool>* stop) {
    WatchSummary summary;
    std::int64_t skipped = 0;
    const bool skip = options.skip_when_behind.value_or(!video::is_local_source(source));
    WindowQueue queue(skip);
    pipeline::DeliveryOptions d;
    d.exec_command = options.exec_command;
    d.webhook_url = options.webhook_url;
    pipeline::EventDelivery delivery(d);

    std::vector<Target> targets;
    for (const std::string& t : options.labels) targets.push_back({t, false, EventTracker(options.events), -1, ""});
    for (const std::string& t : options.queries) targets.push_back({t, true, EventTracker(options.events), -1, ""});
    std::map<std::int64_t, Tensor> recent_middles;  // thumbnails' frames of the last windows
    const ImageProcessorConfig& pc = workflow->processor().video_processor().config();

    const auto emit = [&](const WatchRecord& r) {
      on_record(r);
      if (r.type == WatchRecordType::EventStart || r.type == WatchRecordType::EventEnd)
        delivery.deliver(watch_record_json(r));
    };
    const auto save_thumbnail = [&](Target& t, std::int64_t window) {
      if (options.thumbnails_dir.empty() || !recent_middles.count(window)) return;
      t.thumbnail = (fs::path(options.thumbnails_dir) / ("event-" + std::to_string(t.event_number) + ".jpg")).string();
      const std::vector<std::uint8_t> jpeg = thumbnail_jpeg(recent_middles.at(window), pc);
      io::write_file_atomically(t.thumbnail, std::string_view(reinterpret_cast<const char*>(jpeg.data()), jpeg.size()),
                                "the event thumbnail");
    };
    const auto event_record = [&](Target& t, const EventTracker::Transition& tr) {
      WatchRecord e;
      e.type = tr.started ? WatchRecordType::EventStart : WatchRecordType::EventEnd;
      e.target = t.text;
      e.is_query = t.is_query;
      e.start = tr.start;
      e.end = tr.end;
      e.peak = tr.peak;
      e.window = tr.peak_window;
      e.wall_time = unix_now();
      e.thumbnail = t.thumbnail;
      return e;
    };

    std::thread decoder([&] { decode(source, queue, stop, summary, skipped); });
    std::string error;
    for (;;) {
      ReadyWindow w = queue.pop();
      for (const WatchRecord& r : w.before) emit(r);
      if (w.end_of_stream) {
        error = w.error;
        break;
      }
      WatchRecord r;
      r.type = WatchRecordType::Window;
      r.window = w.index;
      r.start = w.start;
      r.end = w.end;
      r.frames = w.frames;
      score(w, r);
      r.wall_time = unix_now();
      r.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - w.closed_at).count();
      ++summary.windows;
      emit(r);
      recent_middles[w.index] = w.middle;
      while (recent_middles.size() > static_cast<std::size_t>(options.events.hold) + 1)
        recent_middles.erase(recent_middles.begin());
      for (std::size_t i = 0; i < targets.size(); ++i) {
        Target& t = targets[i];
        const double s = i < r.labels.size() ? r.labels[i].score : r.queries[i - r.labels.size()].score;
        bool new_peak = false;
        const auto tr = t.tracker.feed(w.index, w.start, w.end, s, &new_peak);
        if (tr && tr->started) {
          t.event_number = summary.events++;
          save_thumbnail(t, tr->peak_window);
        } else if (new_peak) {
          save_thumbnail(t, w.index);
        }
        if (tr) emit(event_record(t, *tr));
      }
    }
    decoder.join();
    for (Target& t : targets)
      if (const auto tr = t.tracker.close()) emit(event_record(t, *tr));
    summary.skipped = skipped;
    delivery.close();  // what is queued is delivered (each within its timeout) before counting
    summary.deliveries_failed = delivery.failed();
    summary.deliveries_dropped = delivery.dropped();
    XCLIP_CHECK(error.empty(), IoError) << error;
    return summary;
  }
};

Watcher::Watcher(const WatchOptions& options) : impl_(std::make_unique<Impl>(options)) {}
Watcher::~Watcher() = default;
WatchSummary Watcher::run(const std::string& source, const WatchCallback& on_record, const std::atomic<bool>* stop) {
  return impl_->run(source, on_record, stop);
}

}  // namespace xclip
