#include "ops/outlier_channels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/parallel.h"
#include "ops/cpu/kernels.h"
#include "ops/gemm.h"
#include "ops/linear.h"

namespace xclip::ops {

std::int64_t outlier_limit(std::int64_t K) { return std::max<std::int64_t>(8, K / 64); }

namespace {

// One screening pass: peak[j] = max over rows of |x[r, j]| / (row r's mean |x| without the
// channels in `known`), for the rows whose maximum passes the ratio. Returns whether any did.
// Rows are measured in parallel; the peaks are taken in parallel over column blocks.
bool screen_rows(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx,
                 const std::vector<std::int64_t>& known, std::vector<float>& peak) {
  const cpu::CpuKernels& k = cpu::kernels();
  const float ordinary = static_cast<float>(K - static_cast<std::int64_t>(known.size()));
  thread_local std::vector<float> inverse_mean;  // 0 for rows without outliers
  inverse_mean.resize(static_cast<std::size_t>(M));
  float* inv = inverse_mean.data();
  parallel_for(0, M, 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const float* row = x + r * ldx;
      float sum = 0.0f, max = 0.0f;
      k.f32_abs_sum_max(row, K, &sum, &max);
      for (std::int64_t j : known) sum -= std::fabs(row[j]);
      const float mean = std::max(sum, 0.0f) / ordinary;
      inv[r] = max > kOutlierRatio * mean ? 1.0f / mean : 0.0f;  // also 0 for all-zero rows
    }
  });
  std::vector<std::int64_t> flagged;
  for (std::int64_t r = 0; r < M; ++r)
    if (inv[r] > 0.0f) flagged.push_back(r);
  if (flagged.empty()) return false;
  if (peak.empty()) peak.assign(static_cast<std::size_t>(K), 0.0f);
  constexpr std::int64_t kBlock = 64;
  parallel_for(0, (K + kBlock - 1) / kBlock, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r : flagged) {
      const std::int64_t first = lo * kBlock, last = std::min(K, hi * kBlock);
      k.f32_abs_peak(x + r * ldx + first, last - first, inv[r], peak.data() + first);
    }
  });
  return true;
}

// Whether `channels` carry enough of x's magnitude (a tenth) to hide other outliers behind the
// row means they inflate: only then is another pass worth its cost.
bool inflates_means(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx,
                    const std::vector<std::int64_t>& channels) {
  const std::int64_t step = std::max<std::int64_t>(1, M / 64);  // a sample of rows is enough
  double all = 0.0, found = 0.0;
  for (std::int64_t r = 0; r < M; r += step) {
    const float* row = x + r * ldx;
    float sum = 0.0f, max = 0.0f;
    cpu::kernels().f32_abs_sum_max(row, K, &sum, &max);
    all += sum;
    for (std::int64_t j : channels) found += std::fabs(row[j]);
  }
  return found > 0.1 * all;
}

}  // namespace

void find_outlier_channels(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx,
                           std::vector<std::int64_t>& channels) {
  channels.clear();
  if (M == 0 || K == 0) return;
  thread_local std::vector<float> peak;
  peak.clear();
  const std::size_t limit = static_cast<std::size_t>(outlier_limit(K));
  // Outliers inflate their own row's mean |x|: in narrow rows (a few dozen channels) that can
  // hide the smaller ones. Later passes measure each row without the channels found so far.
  for (int pass = 0; pass < 4; ++pass) {
    if (!screen_rows(x, M, K, ldx, channels, peak)) return;
    const std::size_t before = channels.size();
    channels.clear();
    for (std::int64_t j = 0; j < K; ++j)
      if (peak[j] > kOutlierRatio) channels.push_back(j);
    if (channels.size() > limit) {
      std::partial_sort(channels.begin(), channels.begin() + static_cast<std::ptrdiff_t>(limit), channels.end(),
                        [&](std::int64_t a, std::int64_t b) { return peak[a] > peak[b]; });
      channels.resize(limit);
      std::sort(channels.begin(), channels.end());
      return;
    }
    if (channels.empty() || channels.size() == before || !inflates_means(x, M, K, ldx, channels)) return;
  }
}

void gather_outliers(const float* x, std::int64_t M, std::int64_t ldx, const std::vector<std::int64_t>& channels,
                     float* side) {
  const std::int64_t n = static_cast<std::int64_t>(channels.size());
  for (std::int64_t r = 0; r < M; ++r)
    for (std::int64_t i = 0; i < n; ++i) side[r * n + i] = x[r * ldx + channels[i]];
}

void add_outlier_product(const float* side, std::int64_t M, std::int64_t n, const float* columns, std::int64_t N,
                         float* y, cpu::Activation act) {
  if (n > 0) gemm_f32(true, M, N, n, side, n, columns, n, 1.0f, y, N);
  bias_act_rows(y, nullptr, M, N, act);
}

namespace {
std::atomic<OutlierLog*> active_log{nullptr};
}

OutlierLog::Recording::Recording(OutlierLog& log) {
  OutlierLog* expected = nullptr;
  XCLIP_CHECK(active_log.compare_exchange_strong(expected, &log), Error) << "an outlier recording is already running";
}

OutlierLog::Recording::~Recording() { active_log.store(nullptr); }

OutlierLog* OutlierLog::active() { return active_log.load(std::memory_order_relaxed); }

void OutlierLog::record(const std::vector<std::string>& weight_names, const std::vector<std::int64_t>& channels) {
  if (channels.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& name : weight_names) channels_[name].insert(channels.begin(), channels.end());
}

std::map<std::string, std::set<std::int64_t>> OutlierLog::channels() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return channels_;
}

}  // namespace xclip::ops
