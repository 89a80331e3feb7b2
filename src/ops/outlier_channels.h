// Activation outliers in reduced-precision products. Trained towers carry a few input
// channels far larger than the others (LayerNorm gains 20-60x, "massive activations"): in a
// per-row int8 scale they leave every other channel a few levels, and in bf16 their rounding
// errors outweigh the rest of the product. Such channels are found on every call (no
// calibration data needed), taken out of the reduced-precision product and multiplied in
// float32 beside it, with float32 copies of their weight columns (LLM.int8()'s decomposition).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ops/cpu/kernels.h"

namespace xclip::ops {

// A channel is an outlier when, in some row, |x| exceeds this many times the row's mean |x|.
// Gaussian-like rows peak near 4-6x their mean |x| and GELU outputs near 10-15x, which
// per-row int8 serves well; trained outlier channels reach 20-1000x.
constexpr float kOutlierRatio = 16.0f;

// The most channels one product takes out: beyond that the float32 side product would cost
// more than a few percent of the int8 one, and the activations are not outlier-shaped.
std::int64_t outlier_limit(std::int64_t K);

// The outlier channels of x[M, K] (rows `ldx` floats apart), ascending; when more than
// outlier_limit(K) qualify, the largest are kept.
void find_outlier_channels(const float* x, std::int64_t M, std::int64_t K, std::int64_t ldx,
                           std::vector<std::int64_t>& channels);

// side[M, n] = x[:, channels] (n = channels.size()).
void gather_outliers(const float* x, std::int64_t M, std::int64_t ldx, const std::vector<std::int64_t>& channels,
                     float* side);

// y[M, N] = act(y + side[M, n] · columns[N, n]ᵀ), the product in float32: the end of an
// int8/bf16 product whose own epilogue ran without the activation.
void add_outlier_product(const float* side, std::int64_t M, std::int64_t n, const float* columns, std::int64_t N,
                         float* y, cpu::Activation act);

// While a Recording is alive, every reduced-precision product notes which of its weights'
// input channels were outliers: `xclip convert` runs its probe inputs this way and stores
// float32 copies of exactly those weight columns beside the int8 values.
class OutlierLog {
 public:
  class Recording {
   public:
    explicit Recording(OutlierLog& log);
    ~Recording();
    Recording(const Recording&) = delete;
    Recording& operator=(const Recording&) = delete;
  };

  // The log being recorded into, or null (the common case: one relaxed load per product).
  static OutlierLog* active();
  void record(const std::vector<std::string>& weight_names, const std::vector<std::int64_t>& channels);
  // weight name -> the channels seen, ascending.
  std::map<std::string, std::set<std::int64_t>> channels() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::set<std::int64_t>> channels_;
};

}  // namespace xclip::ops
