// Watching a live source: windows of the stream scored as they close (zero-shot labels and
// standing text queries), events with hysteresis when a label or query holds, delivered to
// stdout, a command or a webhook. The CLI (`xclip watch`), Python (`xclip.watch`) and the
// server call this one watcher.
//
// Each window holds the frames shown between its start and end (as `xclip classify --start S
// --end E` takes them on a file: the frame shown at S to the frame shown at E), sampled as
// X-CLIP expects; on a file its scores are classify's. Stream time comes from the frames'
// timestamps, counted from the first frame; a jump in them, or a source that dropped and was
// reopened, continues the stream time and is reported as a gap.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xclip/options.h"
#include "xclip/video.h"

namespace xclip {

class Model;

struct EventOptions {
  double on = 0.5;   // a label or query starts when its score reaches this ...
  int hold = 2;      // ... for this many consecutive windows
  double off = 0.4;  // and ends at the first window under this (off <= on: hysteresis)
  double cooldown_seconds = 0;  // after an event ends, none of the same target starts sooner
};

struct WatchOptions {
  std::string model;  // a folder or a hub id
  // A model already loaded from `model` (a server's): used instead of loading another copy.
  std::shared_ptr<const Model> loaded_model;
  WeightType dtype = WeightType::Auto;
  int num_threads = 0;
  HubOptions hub;
  std::vector<std::string> labels;      // zero-shot set: probabilities over these (softmax)
  std::vector<std::string> queries;     // standing queries: X-CLIP's logit ...
  std::vector<std::string> background;  // ... or, given these, the query's probability among them
  std::string text_template = "{}";     // as classify's --template
  double window_seconds = 2.0;
  double stride_seconds = 1.0;
  int num_frames = 0;  // 0: the model's
  EventOptions events;
  std::string thumbnails_dir;  // events' JPEG thumbnails (the peak window's middle frame)
  std::string exec_command;    // run with /bin/sh -c for each event record, the JSON on stdin
  std::string webhook_url;     // POST each event record (JSON), retried with backoff
  bool follow = false;         // a file: wait for more at its end
  double open_timeout_seconds = 10;
  double read_timeout_seconds = 10;
  // Network sources and devices are reopened when they drop, with backoff up to this delay;
  // files and standard input end the watch at their end.
  double max_reconnect_delay_seconds = 10;
  int max_reconnects = -1;  // -1: forever
  // Skip windows rather than fall behind: the default for network sources and devices; a
  // file or standard input is read as fast as the analysis goes, every window analysed.
  std::optional<bool> skip_when_behind;
  int max_frames_per_window = 1024;  // a window holding more is an error (memory bound)
  DecodeLimits decode_limits;
};

enum class WatchRecordType { Window, EventStart, EventEnd, Skip, Gap, Status };

struct WatchScore {
  std::string text;      // the label or query
  double score = 0;      // a label's probability; a query's logit or probability
  double logit = 0;      // X-CLIP's logits_per_video
};

struct WatchRecord {
  WatchRecordType type = WatchRecordType::Window;
  std::int64_t window = -1;  // the window's number (Window, Skip; an event's peak window)
  double start = 0, end = 0;  // stream seconds (a window's span, an event's span, a gap's)
  double wall_time = 0;       // Unix seconds when the record was made
  double latency_ms = 0;      // Window: from the arrival of the frame that closed it
  std::vector<std::int64_t> frames;  // Window: the stream frame numbers sampled
  std::vector<WatchScore> labels, queries;  // Window
  // Events: the label or query, whether it is a query, its peak score and thumbnail.
  std::string target;
  bool is_query = false;
  double peak = 0;
  std::string thumbnail;
  std::string message;  // Gap, Status: what happened
  std::int64_t skipped_total = 0;
};

// "window", "event" (start and end), "skip", "gap" or "status": the record's "type".
const char* watch_record_type_name(WatchRecordType type);
// The record as one line of JSON (the vocabulary every front-end prints).
std::string watch_record_json(const WatchRecord& record);

struct WatchSummary {
  std::int64_t frames = 0, windows = 0, skipped = 0, events = 0, corrupt_packets = 0, reconnects = 0;
  std::int64_t deliveries_failed = 0, deliveries_dropped = 0;
};

using WatchCallback = std::function<void(const WatchRecord&)>;

class Watcher {
 public:
  // Loads the model and encodes the labels and queries (InvalidArgument for none of either,
  // off > on, a stride or window that is not positive, a stride longer than the window).
  explicit Watcher(const WatchOptions& options);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Watches `source` until its end, until `stop` is set, or until it fails for good; each
  // record goes to `on_record` (on one thread, in order). Open events are closed at the end.
  // IoError naming the source when it cannot be opened (or reopened within max_reconnects).
  WatchSummary run(const std::string& source, const WatchCallback& on_record, const std::atomic<bool>* stop = nullptr);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The hysteresis of one label or query over its window scores (pure; what Watcher uses).
class EventTracker {
 public:
  explicit EventTracker(EventOptions options);
  struct Transition {
    bool started = false;  // else ended
    double start = 0, end = 0, peak = 0;
    std::int64_t peak_window = -1;
  };
  // The window's score; what it starts or ends, if anything. `peak_changed` is set when this
  // window is the open event's new peak (its thumbnail is the one to keep).
  std::optional<Transition> feed(std::int64_t window, double start, double end, double score,
                                 bool* peak_changed = nullptr);
  // Closes an open event (end of input); nullopt if none is open.
  std::optional<Transition> close();
  bool active() const { return active_; }

 private:
  EventOptions o_;
  bool active_ = false;
  int run_ = 0;
  double run_start_ = 0, run_peak_ = 0;
  std::int64_t run_peak_window_ = -1;
  double event_start_ = 0, last_above_end_ = 0, peak_ = 0, cooldown_until_ = -1e300;
  std::int64_t peak_window_ = -1;
};

}  // namespace xclip
