#include "pipeline/event_delivery.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "core/check.h"
#include "xclip/features.h"

#if XCLIP_WITH_HUB
#include <curl/curl.h>
#endif

namespace xclip::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

#if XCLIP_WITH_HUB
std::size_t discard_body(char*, std::size_t size, std::size_t count, void*) { return size * count; }
#endif

}  // namespace

EventDelivery::EventDelivery(DeliveryOptions options) : o_(std::move(options)) {
  XCLIP_CHECK(XCLIP_WITH_HUB || o_.webhook_url.empty(), UnsupportedError)
      << "webhooks need libcurl, and this build of xclip has none (configured with XCLIP_WITH_HUB=OFF); "
      << "deliver events with an exec command instead";
  if (enabled()) worker_ = std::thread([this] { loop(); });
}

EventDelivery::~EventDelivery() { close(); }

void EventDelivery::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool EventDelivery::enabled() const { return !o_.exec_command.empty() || !o_.webhook_url.empty(); }

void EventDelivery::deliver(const std::string& json) {
  if (!enabled()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closing_ || queue_.size() >= o_.max_queue) {
      ++dropped_;  // a receiver that cannot keep up must not hold the analysis back
      return;
    }
    queue_.push_back(json);
  }
  wake_.notify_one();
}

void EventDelivery::loop() {
  // A command that exits without reading its input must not kill the process with SIGPIPE:
  // blocked on this thread, its write fails with EPIPE instead.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  for (;;) {
    std::string json;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      json = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!o_.exec_command.empty() && !run_command(json)) ++failed_;
    if (!o_.webhook_url.empty() && !post(json)) ++failed_;
  }
}

#if XCLIP_WITH_HUB
bool EventDelivery::post(const std::string& json) {
  double delay = o_.first_retry_seconds;
  for (int attempt = 0; attempt < o_.webhook_attempts; ++attempt) {
    if (attempt > 0) {
      std::unique_lock<std::mutex> lock(mutex_);
      // Closing cuts the backoff short: the remaining tries go at once.
      wake_.wait_for(lock, std::chrono::duration<double>(delay), [&] { return closing_; });
      delay *= 2;
    }
    CURL* curl = curl_easy_init();
    if (curl == nullptr) continue;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, o_.webhook_url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(json.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o_.timeout_seconds * 1000));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc == CURLE_OK && status >= 200 && status < 300) return true;
  }
  return false;
}
#else
bool EventDelivery::post(const std::string&) { return false; }  // refused in the constructor
#endif

// The command gets the event on its standard input; one that outlives the timeout is killed.
bool EventDelivery::run_command(const std::string& json) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0) return false;
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(in[0]);
    ::close(in[1]);
    return false;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);  // the command gets the usual signals
    dup2(in[0], STDIN_FILENO);
    execl("/bin/sh", "sh", "-c", o_.exec_command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(in[0]);
  const char* p = json.data();
  std::size_t left = json.size();
  while (left > 0) {
    const ssize_t n = write(in[1], p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (left == 0) (void)!write(in[1], "\n", 1);
  ::close(in[1]);
  const auto deadline = Clock::now() + std::chrono::duration<double>(o_.timeout_seconds);
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return false;
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace xclip::pipeline
