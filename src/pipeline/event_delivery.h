// Events delivered to a command (`--exec`: /bin/sh -c CMD, the event's JSON on its standard
// input) and a webhook (`--webhook`: POST application/json, retried with backoff), on their
// own thread behind a bounded queue: delivery never blocks the analysis. What cannot be
// queued is dropped and counted; what fails after its retries is counted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace xclip::pipeline {

struct DeliveryOptions {
  std::string exec_command;
  std::string webhook_url;
  std::size_t max_queue = 256;
  int webhook_attempts = 5;         // first try and retries
  double first_retry_seconds = 0.25;  // doubled after each failure
  double timeout_seconds = 10;      // one webhook request, or one command run
};

class EventDelivery {
 public:
  explicit EventDelivery(DeliveryOptions options);
  ~EventDelivery();  // close()
  // Delivers what is queued (each within its timeout; retries without their waits), then
  // returns; later events are dropped.
  void close();
  bool enabled() const;
  void deliver(const std::string& json);
  std::int64_t failed() const { return failed_; }
  std::int64_t dropped() const { return dropped_; }

 private:
  void loop();
  bool post(const std::string& json);
  bool run_command(const std::string& json);
  DeliveryOptions o_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  std::atomic<std::int64_t> failed_{0}, dropped_{0};
  std::thread worker_;
};

}  // namespace xclip::pipeline
