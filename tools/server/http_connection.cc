#include "http_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <tuple>
#include <utility>

#include "http_guard.h"

namespace xclip::server {

namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point after(double seconds) {
  return Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6));
}

// Waits until `sock` is ready for `events`, the deadline passes or stopping is set; polls in
// short slices so that a stop is seen within 100 ms.
bool wait_ready(socket_t sock, short events, Clock::time_point deadline, const std::atomic<bool>& stopping) {
  while (!stopping) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{sock, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
  return false;
}

// The address and port of the peer (or of this end) of `sock`; "" and 0 when unknown.
std::pair<std::string, int> endpoint_of(socket_t sock, bool peer) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int rc = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
  char text[INET6_ADDRSTRLEN] = {0};
  if (rc == 0 && addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return {text, ntohs(in->sin_port)};
  }
  if (rc == 0 && addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    return {text, ntohs(in6->sin6_port)};
  }
  return {"", 0};
}

bool send_all(socket_t sock, const char* data, std::size_t size, Clock::time_point deadline,
              const std::atomic<bool>& stopping) {
  while (size > 0) {
    const ssize_t n = ::send(sock, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!wait_ready(sock, POLLOUT, deadline, stopping)) return false;
    } else {
      return false;
    }
  }
  return true;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

// An answer written before cpp-httplib saw the request; the connection closes after it.
void answer_and_close(socket_t sock, int status, const std::string& type, const std::string& message) {
  const std::string body = error_body(message, type);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n";
  if (status == 503) out += "Retry-After: 1\r\n";
  out += "\r\n" + body;
  const std::atomic<bool> never{false};
  send_all(sock, out.data(), out.size(), after(2), never);
}

// The bytes of one connection as cpp-httplib reads them: what the head check already
// received first, then the socket, every read and write within the request's deadline.
class GuardedStream : public httplib::Stream {
 public:
  GuardedStream(socket_t sock, std::string& pending, Clock::time_point deadline, const std::atomic<bool>& stopping)
      : sock_(sock), pending_(pending), deadline_(deadline), stopping_(stopping) {}

  bool is_readable() const override { return !pending_.empty() || wait_ready(sock_, POLLIN, deadline_, stopping_); }
  bool is_writable() const override { return wait_ready(sock_, POLLOUT, after(30), stopping_); }

  ssize_t read(char* ptr, std::size_t size) override {
    if (!pending_.empty()) {
      const std::size_t n = std::min(size, pending_.size());
      std::memcpy(ptr, pending_.data(), n);
      pending_.erase(0, n);
      bytes_read_ += n;
      return static_cast<ssize_t>(n);
    }
    while (true) {
      const ssize_t n = ::recv(sock_, ptr, size, MSG_DONTWAIT);
      if (n > 0) bytes_read_ += static_cast<std::size_t>(n);
      if (n >= 0) return n;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
      if (!wait_ready(sock_, POLLIN, deadline_, stopping_)) {
        timed_out_ = !stopping_;
        return -1;
      }
    }
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    return send_all(sock_, ptr, size, after(30), stopping_) ? static_cast<ssize_t>(size) : -1;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    std::tie(ip, port) = endpoint_of(sock_, true);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    std::tie(ip, port) = endpoint_of(sock_, false);
  }
  socket_t socket() const override { return sock_; }
  bool timed_out() const { return timed_out_; }
  std::size_t bytes_read() const { return bytes_read_; }

 private:
  socket_t sock_;
  std::string& pending_;
  Clock::time_point deadline_;
  const std::atomic<bool>& stopping_;
  bool timed_out_ = false;
  std::size_t bytes_read_ = 0;
};

// Receives into `pending` until it holds a whole request head (or the head breaks a limit,
// the client goes, the deadline passes or the server stops).
HeadCheck receive_head(socket_t sock, std::string& pending, const HeadLimits& limits, Clock::time_point deadline,
                       const std::atomic<bool>& stopping) {
  char buf[16 * 1024];
  while (true) {
    HeadCheck h = check_request_head(pending, limits);
    if (h.state != HeadCheck::State::Incomplete) return h;
    const ssize_t n = ::recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      pending.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      return HeadCheck{};  // the client went
    } else if (!wait_ready(sock, POLLIN, deadline, stopping)) {
      HeadCheck late;
      late.status = stopping ? 0 : 408;
      return late;
    }
  }
}

}  // namespace

GuardedHttpServer::GuardedHttpServer(ConnectionLimits limits) : limits_(limits) {
  const std::size_t threads = static_cast<std::size_t>(limits_.max_connections) + 16;
  new_task_queue = [threads] { return new ConnectionThreads(threads); };
}

bool GuardedHttpServer::admit(const std::string& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (open_ >= limits_.max_connections || per_client_[client] >= limits_.max_per_client) return false;
  ++open_;
  ++per_client_[client];
  return true;
}

void GuardedHttpServer::release(const std::string& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  --open_;
  if (--per_client_[client] <= 0) per_client_.erase(client);
}

bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
  const std::string client = endpoint_of(sock, true).first;
  if (!admit(client)) {
    ++counters_.refused_connections;
    answer_and_close(sock, 503, "overloaded", "too many connections (from this client or in all); retry later");
  } else {
    serve_connection(sock);
    release(client);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

void GuardedHttpServer::serve_connection(socket_t sock) {
  const int on = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));  // answers leave at once, not after ~40 ms
  std::string pending;
  Clock::time_point head_deadline = after(limits_.head_timeout_seconds);
  for (std::size_t served = 0; !stopping_; ++served) {
    const HeadCheck head = receive_head(sock, pending, limits_.head, head_deadline, stopping_);
    if (head.state == HeadCheck::State::Incomplete) {
      // The client left, went idle between requests, or dripped a head too slowly.
      if (head.status == 408 && !pending.empty()) {
        ++counters_.timed_out;
        answer_and_close(sock, 408, "timeout", "the request head did not arrive in time");
      }
      return;
    }
    if (head.state == HeadCheck::State::Refused) {
      ++counters_.refused_heads;
      answer_and_close(sock, head.status, head.status == 431 ? "header_too_large" : "bad_request", head.reason);
      return;
    }
    const std::size_t head_bytes = rename_header_field(pending, head.head_bytes, "range", kRangeField);
    // Only an announced size earns more time: a chunked body gets the plain deadline.
    const std::uint64_t body = head.content_length.value_or(0);
    if (head.content_length && *head.content_length > limits_.max_body_bytes) {
      ++counters_.refused_heads;
      answer_and_close(sock, 413, "payload_too_large",
                       "the body announces " + std::to_string(*head.content_length) +
                           " bytes, more than the limit of " + std::to_string(limits_.max_body_bytes));
      return;
    }
    // A request slot: the head is here, the work begins.
    {
      std::unique_lock<std::mutex> lock(slots_mutex_);
      while (active_ >= limits_.max_active_requests && !stopping_)
        slots_free_.wait_for(lock, std::chrono::milliseconds(100));
      if (stopping_) return;
      ++active_;
    }
    struct SlotRelease {  // also when an answer throws
      GuardedHttpServer& server;
      ~SlotRelease() {
        {
          std::lock_guard<std::mutex> lock(server.slots_mutex_);
          --server.active_;
        }
        server.slots_free_.notify_one();
      }
    };
    const double allowance = static_cast<double>(body) / limits_.min_body_bytes_per_second;
    GuardedStream stream(sock, pending, after(limits_.request_timeout_seconds + allowance), stopping_);
    const bool last = stopping_ || served + 1 >= limits_.keep_alive_max_requests;
    bool closed = false;
    {
      SlotRelease release{*this};
      process_request(stream, last, closed, nullptr);
    }
    if (stream.timed_out()) ++counters_.timed_out;
    // A body the route did not read (an answer before it: 401, 413, ...) must not be taken for
    // the next request: the connection ends. Chunked bodies have no length to check: same.
    const bool body_unread = head.chunked || stream.bytes_read() < head_bytes + head.content_length.value_or(0);
    if (closed || last || stream.timed_out() || body_unread) return;
    head_deadline = after(limits_.keep_alive_seconds);
  }
}

void ConnectionThreads::join_finished() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void ConnectionThreads::enqueue(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mutex_);
  join_finished();
  if (workers_.size() >= max_threads_) {
    fn();  // over every limit: the server refuses it at once, on the accepting thread
    return;
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  workers_.push_back({std::thread([fn = std::move(fn), done] {
                        fn();
                        *done = true;
                      }),
                      done});
}

void ConnectionThreads::shutdown() {
  std::list<Worker> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all.swap(workers_);
  }
  for (Worker& w : all) w.thread.join();
}

}  // namespace xclip::server
