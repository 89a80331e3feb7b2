// Prometheus text-format metrics of the server: requests by route and status, latency
// histograms by route, batch sizes, queue depth, videos decoded, index size.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace xclip::server {

class Metrics {
 public:
  void observe_request(const std::string& route, int status, double seconds);
  void observe_batch(const std::string& kind, std::size_t size);
  void add_videos_decoded(std::size_t n = 1);
  // Gauges read when /metrics is served (set once the model is loaded).
  struct Gauges {
    std::function<std::size_t()> queue_depth;
    std::function<std::int64_t()> index_windows;
    std::function<std::size_t()> workspace_bytes;
  };
  void set_gauges(Gauges gauges);
  std::string render() const;

 private:
  static constexpr std::array<double, 12> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                             0.5,   1.0,  2.5,   5.0,  10.0, 30.0};
  static constexpr std::array<double, 8> kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128};
  struct Histogram {
    std::array<std::uint64_t, 13> counts{};  // one per bucket + the overflow
    double sum = 0;
    std::uint64_t count = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::map<std::string, Histogram> batches_;
  std::uint64_t videos_decoded_ = 0;
  Gauges gauges_;
};

}  // namespace xclip::server
