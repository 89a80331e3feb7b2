// The server's live watches: POST /watch starts one (the source must match an --allow-source
// prefix: the server never fetches a URL a client makes up), GET /watch lists them, DELETE
// stops one; /events streams every watch's records as Server-Sent Events. Each watch runs the
// library's Watcher on its own thread with the server's model; each subscriber has a bounded
// queue (a slow reader loses its oldest records, counted), so no client can grow memory.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "xclip/watch.h"

namespace xclip::server {

class WatchHub {
 public:
  WatchHub(std::shared_ptr<const Model> model, std::vector<std::string> allow_sources, std::string thumbnails_root,
           DecodeLimits limits);
  ~WatchHub();  // stops every watch

  // {"source", "labels" | "queries", ...} -> {"id", "source"}; HttpError 403 for a source
  // not allowed, 422 for bad options.
  nlohmann::json start(const nlohmann::json& request);
  nlohmann::json list();
  bool stop(std::int64_t id);  // false: no such watch
  // The file of an event thumbnail of watch `id` ("" when there is none by that name).
  std::string thumbnail(std::int64_t id, const std::string& name);

  struct Subscriber;
  std::shared_ptr<Subscriber> subscribe(bool windows);
  void unsubscribe(const std::shared_ptr<Subscriber>& s);
  // Waits up to `wait` for records; appends them as SSE messages to `out`. False once the
  // hub is closing (the stream should end).
  bool next_messages(Subscriber& s, std::string& out, std::chrono::milliseconds wait);
  void close();  // wakes every subscriber and stops every watch

 private:
  struct Watch;
  void publish(std::int64_t id, const WatchRecord& record);
  bool allowed(const std::string& source) const;

  std::shared_ptr<const Model> model_;
  std::vector<std::string> allow_sources_;
  std::string thumbnails_root_;
  DecodeLimits limits_;
  std::mutex mutex_;
  std::map<std::int64_t, std::shared_ptr<Watch>> watches_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
  std::int64_t next_id_ = 1;
  std::atomic<bool> closing_{false};
};

}  // namespace xclip::server
