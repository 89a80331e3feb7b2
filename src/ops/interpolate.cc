#include "ops/interpolate.h"

#include <algorithm>
#include <cmath>

namespace xclip::ops {

namespace {

constexpr float kCubicA = -0.75f;

// Weights of the 4 taps at offsets -1, 0, 1, 2 for fractional position t.
void cubic_weights(float t, float w[4]) {
  auto near = [](float x) { return ((kCubicA + 2.0f) * x - (kCubicA + 3.0f)) * x * x + 1.0f; };
  auto far = [](float x) { return ((kCubicA * x - 5.0f * kCubicA) * x + 8.0f * kCubicA) * x - 4.0f * kCubicA; };
  w[0] = far(t + 1.0f);
  w[1] = near(t);
  w[2] = near(1.0f - t);
  w[3] = far(2.0f - t);
}

struct Tap {
  std::int64_t index[4];
  float weight[4];
};

Tap source_taps(std::int64_t out_index, std::int64_t in_size, std::int64_t out_size) {
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  const float real = scale * (static_cast<float>(out_index) + 0.5f) - 0.5f;
  const float base = std::floor(real);
  Tap tap;
  cubic_weights(real - base, tap.weight);
  for (int i = 0; i < 4; ++i)
    tap.index[i] = std::clamp<std::int64_t>(static_cast<std::int64_t>(base) - 1 + i, 0, in_size - 1);
  return tap;
}

}  // namespace

void bicubic_resize(const float* in, std::int64_t channels, std::int64_t in_h, std::int64_t in_w, float* out,
                    std::int64_t out_h, std::int64_t out_w) {
  for (std::int64_t oy = 0; oy < out_h; ++oy) {
    const Tap ty = source_taps(oy, in_h, out_h);
    for (std::int64_t ox = 0; ox < out_w; ++ox) {
      const Tap tx = source_taps(ox, in_w, out_w);
      for (std::int64_t c = 0; c < channels; ++c) {
        const float* plane = in + c * in_h * in_w;
        float rows[4];
        for (int i = 0; i < 4; ++i) {
          const float* row = plane + ty.index[i] * in_w;
          rows[i] = row[tx.index[0]] * tx.weight[0] + row[tx.index[1]] * tx.weight[1] + row[tx.index[2]] * tx.weight[2] +
                    row[tx.index[3]] * tx.weight[3];
        }
        out[(c * out_h + oy) * out_w + ox] =
            rows[0] * ty.weight[0] + rows[1] * ty.weight[1] + rows[2] * ty.weight[2] + rows[3] * ty.weight[3];
      }
    }
  }
}

}  // namespace xclip::ops

namespace xclip::ops {

void interpolate_linear_rows(const float* in, std::int64_t in_rows, std::int64_t cols, std::int64_t out_rows,
                             float* out) {
  const double scale = static_cast<double>(in_rows) / static_cast<double>(out_rows);
  for (std::int64_t i = 0; i < out_rows; ++i) {
    const double source = std::max(0.0, (static_cast<double>(i) + 0.5) * scale - 0.5);
    const std::int64_t i0 = std::min(static_cast<std::int64_t>(source), in_rows - 1);
    const std::int64_t i1 = std::min(i0 + 1, in_rows - 1);
    const float lambda = static_cast<float>(source - static_cast<double>(i0));
    const float* a = in + i0 * cols;
    const float* b = in + i1 * cols;
    float* row = out + i * cols;
    for (std::int64_t c = 0; c < cols; ++c) row[c] = (1.0f - lambda) * a[c] + lambda * b[c];
  }
}

}  // namespace xclip::ops
