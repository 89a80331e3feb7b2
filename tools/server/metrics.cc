#include "metrics.h"

#include <malloc.h>
#include <unistd.h>

#include <fstream>
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

// Resident set size from /proc/self/statm (second field, in pages); 0 when unreadable.
std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

// Bytes malloc has handed out and not had back, over every arena and mmapped chunk. Unlike
// the resident size it does not move with fragmentation or with pages the allocator keeps
// for reuse, so a leak shows here as steady growth per request.
std::uint64_t heap_in_use_bytes() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<std::uint64_t>(info.uordblks) + static_cast<std::uint64_t>(info.hblkhd);
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

void Metrics::set_gauges(Gauges gauges) {
  std::lock_guard<std::mutex> lock(mutex_);
  gauges_ = std::move(gauges);
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
      << "xclip_queue_depth " << (gauges_.queue_depth ? gauges_.queue_depth() : 0) << "\n";
  out << "# HELP xclip_videos_decoded_total Videos decoded for requests.\n"
      << "# TYPE xclip_videos_decoded_total counter\n"
      << "xclip_videos_decoded_total " << videos_decoded_ << "\n";
  out << "# HELP xclip_index_windows Windows in the search index (0 without --index).\n"
      << "# TYPE xclip_index_windows gauge\n"
      << "xclip_index_windows " << (gauges_.index_windows ? gauges_.index_windows() : 0) << "\n";
  out << "# HELP xclip_workspace_bytes Activation memory the sessions hold (the high-water mark of their batches).\n"
      << "# TYPE xclip_workspace_bytes gauge\n"
      << "xclip_workspace_bytes " << (gauges_.workspace_bytes ? gauges_.workspace_bytes() : 0) << "\n";
  out << "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
      << "# TYPE process_resident_memory_bytes gauge\n"
      << "process_resident_memory_bytes " << resident_bytes() << "\n";
  out << "# HELP xclip_heap_in_use_bytes Bytes allocated with malloc and not yet freed.\n"
      << "# TYPE xclip_heap_in_use_bytes gauge\n"
      << "xclip_heap_in_use_bytes " << heap_in_use_bytes() << "\n";
  return out.str();
}

}  // namespace xclip::server
