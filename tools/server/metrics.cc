#include "metrics.h"

#include <sstream>

namespace xclip::server {

namespace {

template <std::size_t N>
void add(std::array<std::uint64_t, 13>& counts, const std::array<double, N>& buckets, double value) {
  std::size_t i = 0;
  while (i < N && value > buckets[i]) ++i;
  ++counts[i];
}

template <std::size_t N>
void render_histogram(std::ostringstream& out, const std::string& name, const std::string& label,
                      const std::string& label_value, const std::array<double, N>& buckets,
                      const std::array<std::uint64_t, 13>& counts, double sum, std::uint64_t count) {
  std::uint64_t cumulative = 0;
  const std::string labels = label + "=\"" + label_value + "\"";
  for (std::size_t i = 0; i < N; ++i) {
    cumulative += counts[i];
    out << name << "_bucket{" << labels << ",le=\"" << buckets[i] << "\"} " << cumulative << "\n";
  }
  out << name << "_bucket{" << labels << ",le=\"+Inf\"} " << count << "\n";
  out << name << "_sum{" << labels << "} " << sum << "\n";
  out << name << "_count{" << labels << "} " << count << "\n";
}

}  // namespace

void Metrics::observe_request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
  Histogram& h = latency_[route];
  add(h.counts, kLatencyBuckets, seconds);
  h.sum += seconds;
  ++h.count;
}

void Metrics::observe_batch(const std::string& kind, std::size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  Histogram& h = batches_[kind];
  add(h.counts, kBatchBuckets, static_cast<double>(size));
  h.sum += static_cast<double>(size);
  ++h.count;
}

void Metrics::add_videos_decoded(std::size_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  videos_decoded_ += n;
}

void Metrics::set_gauges(std::function<std::size_t()> queue_depth, std::function<std::int64_t()> index_windows) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_depth_ = std::move(queue_depth);
  index_windows_ = std::move(index_windows);
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  out << "# HELP xclip_requests_total HTTP requests by route and status code.\n"
      << "# TYPE xclip_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out << "xclip_requests_total{route=\"" << key.first << "\",code=\"" << key.second << "\"} " << n << "\n";
  out << "# HELP xclip_request_duration_seconds Request latency by route.\n"
      << "# TYPE xclip_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_)
    render_histogram(out, "xclip_request_duration_seconds", "route", route, kLatencyBuckets, h.counts, h.sum, h.count);
  out << "# HELP xclip_batch_size Items per forward pass (dynamic batching).\n"
      << "# TYPE xclip_batch_size histogram\n";
  for (const auto& [kind, h] : batches_)
    render_histogram(out, "xclip_batch_size", "kind", kind, kBatchBuckets, h.counts, h.sum, h.count);
  out << "# HELP xclip_queue_depth Texts and videos waiting for a forward pass.\n"
      << "# TYPE xclip_queue_depth gauge\n"
      << "xclip_queue_depth " << (queue_depth_ ? queue_depth_() : 0) << "\n";
  out << "# HELP xclip_videos_decoded_total Videos decoded for requests.\n"
      << "# TYPE xclip_videos_decoded_total counter\n"
      << "xclip_videos_decoded_total " << videos_decoded_ << "\n";
  out << "# HELP xclip_index_windows Windows in the search index (0 without --index).\n"
      << "# TYPE xclip_index_windows gauge\n"
      << "xclip_index_windows " << (index_windows_ ? index_windows_() : 0) << "\n";
  return out.str();
}

}  // namespace xclip::server
