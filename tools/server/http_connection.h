// The connection layer under cpp-httplib's routing. Debian's cpp-httplib (0.11) reads a
// request with a timeout per read, any number of header fields and a fixed pool of threads
// that each hold a connection, so a few clients dripping bytes or sending endless headers
// could hold every thread, grow memory without limit and delay shutdown forever. Here each
// connection gets its own (cheap) thread and is admitted against total and per-client
// limits; every request's head must arrive complete, within limits and unambiguous
// (request_head.h) before a deadline, and only then takes one of the request slots that
// bound the work done at once; its body must arrive within a deadline that grows with its
// size. cpp-httplib still parses and routes each request, through its own process_request.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <httplib.h>

#include "request_head.h"

namespace xclip::server {

// The name under which routes find a request's Range field (see rename_header_field).
inline constexpr const char* kRangeField = "X-Xclip-Range";

struct ConnectionLimits {
  int max_connections = 512;       // open at once, all clients
  int max_per_client = 128;        // open at once from one address
  int max_active_requests = 64;    // requests past their head, being read or answered at once
  double head_timeout_seconds = 10;      // a request's head must arrive whole within this
  double keep_alive_seconds = 5;         // idle time allowed between requests of a connection
  double request_timeout_seconds = 60;   // the head and body of a request, plus the size allowance
  double min_body_bytes_per_second = 1 << 20;  // allowance: a body of N bytes gets N / this more seconds
  std::size_t max_body_bytes = 256u << 20;     // larger announced bodies are refused before reading
  std::size_t keep_alive_max_requests = 100;
  HeadLimits head;
};

// Counts of what the layer refused (for /metrics and the tests).
struct ConnectionCounters {
  std::atomic<std::uint64_t> refused_connections{0};  // over max_connections or max_per_client
  std::atomic<std::uint64_t> refused_heads{0};        // too large, too many fields, ambiguous framing
  std::atomic<std::uint64_t> timed_out{0};            // a head or body that did not arrive in time
};

class GuardedHttpServer : public httplib::Server {
 public:
  explicit GuardedHttpServer(ConnectionLimits limits);
  // Connections stop waiting for clients; answers in progress finish. Then call stop().
  void begin_stop() { stopping_ = true; }
  const ConnectionCounters& counters() const { return counters_; }
  const ConnectionLimits& limits() const { return limits_; }

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool admit(const std::string& client);
  void release(const std::string& client);
  void serve_connection(socket_t sock);

  ConnectionLimits limits_;
  ConnectionCounters counters_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  int open_ = 0;
  std::map<std::string, int> per_client_;
  // Request slots.
  std::mutex slots_mutex_;
  std::condition_variable slots_free_;
  int active_ = 0;
};

// cpp-httplib's task queue as one thread per connection: a connection that waits for its
// client costs a sleeping thread, never another client's turn. GuardedHttpServer bounds how
// many there are.
class ConnectionThreads : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(std::size_t max_threads) : max_threads_(max_threads) {}
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  void join_finished();

  std::size_t max_threads_;
  std::mutex mutex_;
  std::list<Worker> workers_;
};

}  // namespace xclip::server
