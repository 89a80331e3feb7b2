#include "watch_hub.h"

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <regex>

#include "http_guard.h"
#include "xclip/model.h"

namespace xclip::server {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::size_t kSubscriberQueue = 512;  // records a subscriber may fall behind by
constexpr std::size_t kMaxWatches = 16;

constexpr std::size_t kMaxTexts = 256;  // labels, queries or background prompts of one watch

std::vector<std::string> strings(const json& body, const char* name) {
  std::vector<std::string> out = string_list_field(body, name);
  if (out.size() > kMaxTexts)
    throw HttpError(422, "validation",
                    std::string("\"") + name + "\" must be a list of at most " + std::to_string(kMaxTexts) + " strings");
  return out;
}

}  // namespace

struct WatchHub::Subscriber {
  bool windows = false;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::string> messages;
  std::int64_t dropped = 0;
};

struct WatchHub::Watch {
  std::int64_t id = 0;
  std::string source;
  std::vector<std::string> labels, queries;
  std::string thumbnails;
  std::atomic<bool> stop{false}, running{true};
  std::atomic<std::int64_t> windows{0}, events{0};
  std::mutex mutex;
  std::string error;
  std::thread thread;
};

WatchHub::WatchHub(std::shared_ptr<const Model> model, std::vector<std::string> allow_sources,
                   std::string thumbnails_root, DecodeLimits limits)
    : model_(std::move(model)), allow_sources_(std::move(allow_sources)), thumbnails_root_(std::move(thumbnails_root)),
      limits_(limits) {}

WatchHub::~WatchHub() { close(); }

// A source is allowed when it starts with an allowed prefix and cannot climb out of it.
bool WatchHub::allowed(const std::string& source) const {
  if (source.empty() || source.find("..") != std::string::npos) return false;
  for (unsigned char c : source)
    if (c < 0x20 || c == 0x7f) return false;
  for (const std::string& prefix : allow_sources_)
    if (!prefix.empty() && source.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
}

json WatchHub::start(const json& body) {
  if (closing_) throw HttpError(503, "unavailable", "the server is stopping");
  const std::string source = field_or<std::string>(body, "source", "");
  if (source.empty()) throw HttpError(422, "validation", "a watch needs \"source\"");
  if (allow_sources_.empty())
    throw HttpError(403, "forbidden", "this server watches no sources (start it with --allow-source PREFIX)");
  if (!allowed(source)) throw HttpError(403, "forbidden", "source not allowed: " + source);
  WatchOptions o;
  o.model = model_->path();
  o.loaded_model = model_;
  o.labels = strings(body, "labels");
  o.queries = strings(body, "queries");
  o.background = strings(body, "background");
  o.text_template = field_or<std::string>(body, "template", "{}");
  o.window_seconds = field_or<double>(body, "window", 2.0);
  o.stride_seconds = field_or<double>(body, "stride", 1.0);
  o.events.on = field_or<double>(body, "on", 0.5);
  o.events.off = field_or<double>(body, "off", 0.4);
  o.events.hold = field_or<int>(body, "hold", 2);
  o.events.cooldown_seconds = field_or<double>(body, "cooldown", 0.0);
  o.open_timeout_seconds = o.read_timeout_seconds = field_or<double>(body, "timeout", 10.0);
  o.decode_limits = limits_;
  auto w = std::make_shared<Watch>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t running = 0;
    for (const auto& [id, other] : watches_) running += other->running;
    if (running >= kMaxWatches)
      throw HttpError(429, "overloaded", "at most " + std::to_string(kMaxWatches) + " watches at once");
    w->id = next_id_++;
  }
  w->source = source;
  w->labels = o.labels;
  w->queries = o.queries;
  w->thumbnails = (fs::path(thumbnails_root_) / ("watch-" + std::to_string(w->id))).string();
  o.thumbnails_dir = w->thumbnails;
  // Built here, so that bad options answer 422 before anything runs.
  auto watcher = std::make_shared<Watcher>(o);
  w->thread = std::thread([this, w, watcher] {
    try {
      watcher->run(w->source, [&](const WatchRecord& r) { publish(w->id, r); }, &w->stop);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(w->mutex);
      w->error = e.what();
      WatchRecord failed;
      failed.type = WatchRecordType::Status;
      failed.message = std::string("the watch ended: ") + e.what();
      publish(w->id, failed);
    }
    w->running = false;
  });
  std::lock_guard<std::mutex> lock(mutex_);
  watches_[w->id] = w;
  return {{"id", w->id}, {"source", source}};
}

json WatchHub::list() {
  std::lock_guard<std::mutex> lock(mutex_);
  json out = json::array();
  for (const auto& [id, w] : watches_) {
    std::lock_guard<std::mutex> wl(w->mutex);
    out.push_back({{"id", id},
                   {"source", w->source},
                   {"labels", w->labels},
                   {"queries", w->queries},
                   {"running", w->running.load()},
                   {"windows", w->windows.load()},
                   {"events", w->events.load()},
                   {"error", w->error}});
  }
  return out;
}

bool WatchHub::stop(std::int64_t id) {
  std::shared_ptr<Watch> w;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = watches_.find(id);
    if (it == watches_.end()) return false;
    w = it->second;
    watches_.erase(it);
  }
  w->stop = true;
  if (w->thread.joinable()) w->thread.join();
  return true;
}

std::string WatchHub::thumbnail(std::int64_t id, const std::string& name) {
  static const std::regex pattern(R"(event-\d{1,9}\.jpg)");
  if (!std::regex_match(name, pattern)) return "";
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = watches_.find(id);
  if (it == watches_.end()) return "";
  const fs::path file = fs::path(it->second->thumbnails) / name;
  std::error_code ec;
  return fs::is_regular_file(file, ec) ? file.string() : "";
}

void WatchHub::publish(std::int64_t id, const WatchRecord& record) {
  WatchRecord r = record;
  if (!r.thumbnail.empty())  // a path on this machine becomes this server's URL for it
    r.thumbnail = "/media/watch/" + std::to_string(id) + "/" + fs::path(r.thumbnail).filename().string();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = watches_.find(id);
    if (it != watches_.end()) {
      if (r.type == WatchRecordType::Window) ++it->second->windows;
      if (r.type == WatchRecordType::EventStart) ++it->second->events;
    }
  }
  const std::string body = watch_record_json(r);
  const std::string message = std::string("event: ") + watch_record_type_name(r.type) + "\ndata: {\"watch\":" + std::to_string(id) + "," + body.substr(1) + "\n\n";
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    subscribers = subscribers_;
  }
  for (const auto& s : subscribers) {
    if (r.type == WatchRecordType::Window && !s->windows) continue;
    std::lock_guard<std::mutex> lock(s->mutex);
    if (s->messages.size() >= kSubscriberQueue) {
      s->messages.pop_front();  // a reader that does not keep up loses its oldest records
      ++s->dropped;
    }
    s->messages.push_back(message);
    s->wake.notify_one();
  }
}

std::shared_ptr<WatchHub::Subscriber> WatchHub::subscribe(bool windows) {
  auto s = std::make_shared<Subscriber>();
  s->windows = windows;
  std::lock_guard<std::mutex> lock(mutex_);
  subscribers_.push_back(s);
  return s;
}

void WatchHub::unsubscribe(const std::shared_ptr<Subscriber>& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), s), subscribers_.end());
}

bool WatchHub::next_messages(Subscriber& s, std::string& out, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(s.mutex);
  s.wake.wait_for(lock, wait, [&] { return closing_ || !s.messages.empty(); });
  if (closing_) return false;
  if (s.dropped > 0) {
    out += ": " + std::to_string(s.dropped) + " records dropped (this reader fell behind)\n\n";
    s.dropped = 0;
  }
  while (!s.messages.empty()) {
    out += s.messages.front();
    s.messages.pop_front();
  }
  return true;
}

void WatchHub::close() {
  closing_ = true;
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  std::vector<std::int64_t> ids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    subscribers = subscribers_;
    for (const auto& [id, w] : watches_) ids.push_back(id);
  }
  for (const auto& s : subscribers) {
    std::lock_guard<std::mutex> lock(s->mutex);
    s->wake.notify_all();
  }
  for (std::int64_t id : ids) stop(id);
}

}  // namespace xclip::server
