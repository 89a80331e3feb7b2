#include "vision/resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/parallel.h"

namespace xclip::vision {

namespace {

constexpr int kChannels = 3;
constexpr int kPilPrecisionBits = 32 - 8 - 2;

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double keys_cubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// round half away from zero, as both libraries convert their weights
std::int32_t to_fixed(double w, int bits) {
  const double scaled = w * static_cast<double>(1 << bits);
  return static_cast<std::int32_t>(w < 0 ? -0.5 + scaled : 0.5 + scaled);
}

std::uint8_t clip8(std::int32_t acc, int bits) {
  const std::int32_t v = acc >> bits;
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace

Coefficients compute_coefficients(int in_size, int out_size, Filter filter, Precision precision) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = (filter == Filter::Bilinear ? 1.0 : 2.0) * filterscale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  std::vector<double> w(static_cast<std::size_t>(out_size) * c.ksize, 0.0);
  double w_max = 0.0;
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size);
    c.first[i] = xmin;
    c.count[i] = xmax - xmin;
    double total = 0.0;
    double* k = &w[static_cast<std::size_t>(i) * c.ksize];
    for (int x = 0; x < xmax - xmin; ++x) {
      const double arg = (x + xmin - center + 0.5) / filterscale;
      k[x] = filter == Filter::Bilinear ? triangle(arg) : keys_cubic(arg);
      total += k[x];
    }
    for (int x = 0; x < xmax - xmin; ++x) {
      if (total != 0.0) k[x] /= total;
      w_max = std::max(w_max, k[x]);
    }
  }
  if (precision == Precision::Pil) {
    c.precision = kPilPrecisionBits;
  } else {
    // torch: the most bits that keep the largest weight within int16 (at most 22).
    int bits = 0;
    for (; bits < 22; ++bits)
      if (static_cast<int>(0.5 + w_max * (1 << (bits + 1))) >= (1 << 15)) break;
    c.precision = bits;
  }
  c.weights.resize(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) c.weights[i] = to_fixed(w[i], c.precision);
  return c;
}

void resize_window(const std::uint8_t* src, int in_h, int in_w, int out_h, int out_w, int top, int left, int window_h,
                   int window_w, Filter filter, Precision precision, std::uint8_t* dst) {
  const bool horizontal = out_w != in_w, vertical = out_h != in_h;
  Coefficients ch, cv;
  if (horizontal) ch = compute_coefficients(in_w, out_w, filter, precision);
  if (vertical) cv = compute_coefficients(in_h, out_h, filter, precision);

  // Input rows the window needs.
  int row0 = top, row1 = top + window_h;
  if (vertical) {
    row0 = cv.first[top];
    row1 = 0;
    for (int y = top; y < top + window_h; ++y) row1 = std::max(row1, cv.first[y] + cv.count[y]);
  }
  const int rows = row1 - row0;
  std::vector<std::uint8_t> temp(static_cast<std::size_t>(rows) * window_w * kChannels);

  parallel_for(0, rows, 8, [&](std::int64_t lo, std::int64_t hi) {
    // One input row widened to RGBX int32 lanes, so that each tap is one 4-lane multiply-add
    // the compiler can vectorise; reused across the rows of this chunk.
    std::vector<std::int32_t> wide(horizontal ? static_cast<std::size_t>(in_w) * 4 : 0);
    for (std::int64_t r = lo; r < hi; ++r) {
      const std::uint8_t* in = src + (static_cast<std::size_t>(row0 + r) * in_w) * kChannels;
      std::uint8_t* out = temp.data() + static_cast<std::size_t>(r) * window_w * kChannels;
      if (!horizontal) {
        std::memcpy(out, in + static_cast<std::size_t>(left) * kChannels, static_cast<std::size_t>(window_w) * kChannels);
        continue;
      }
      const int x_lo = ch.first[left];
      const int x_hi = ch.first[left + window_w - 1] + ch.count[left + window_w - 1];
      for (int x = x_lo; x < x_hi; ++x) {
        wide[x * 4 + 0] = in[x * kChannels + 0];
        wide[x * 4 + 1] = in[x * kChannels + 1];
        wide[x * 4 + 2] = in[x * kChannels + 2];
        wide[x * 4 + 3] = 0;
      }
      const std::int32_t init = 1 << (ch.precision - 1);
      for (int xo = 0; xo < window_w; ++xo) {
        const int x = left + xo;
        const std::int32_t* k = &ch.weights[static_cast<std::size_t>(x) * ch.ksize];
        const std::int32_t* p = &wide[static_cast<std::size_t>(ch.first[x]) * 4];
        std::int32_t acc[4] = {init, init, init, init};
        for (int t = 0; t < ch.count[x]; ++t)
          for (int c = 0; c < 4; ++c) acc[c] += p[t * 4 + c] * k[t];
        out[xo * kChannels + 0] = clip8(acc[0], ch.precision);
        out[xo * kChannels + 1] = clip8(acc[1], ch.precision);
        out[xo * kChannels + 2] = clip8(acc[2], ch.precision);
      }
    }
  });

  const std::size_t row_bytes = static_cast<std::size_t>(window_w) * kChannels;
  parallel_for(0, window_h, 8, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::int32_t> acc(vertical ? row_bytes : 0);
    for (std::int64_t yo = lo; yo < hi; ++yo) {
      std::uint8_t* out = dst + static_cast<std::size_t>(yo) * row_bytes;
      const int y = top + static_cast<int>(yo);
      if (!vertical) {
        std::memcpy(out, temp.data() + static_cast<std::size_t>(y - row0) * row_bytes, row_bytes);
        continue;
      }
      // Taps outer, pixels inner: contiguous rows, so the multiply-adds vectorise.
      const std::int32_t* k = &cv.weights[static_cast<std::size_t>(y) * cv.ksize];
      const std::uint8_t* base = temp.data() + static_cast<std::size_t>(cv.first[y] - row0) * row_bytes;
      std::fill(acc.begin(), acc.end(), 1 << (cv.precision - 1));
      for (int t = 0; t < cv.count[y]; ++t) {
        const std::uint8_t* line = base + t * row_bytes;
        const std::int32_t w = k[t];
        for (std::size_t i = 0; i < row_bytes; ++i) acc[i] += line[i] * w;
      }
      for (std::size_t i = 0; i < row_bytes; ++i) out[i] = clip8(acc[i], cv.precision);
    }
  });
}

void resize_nearest_window(const std::uint8_t* src, int in_h, int in_w, int out_h, int out_w, int top, int left,
                           int window_h, int window_w, Precision precision, std::uint8_t* dst) {
  auto source_index = [&](int o, int in, int out) {
    int i;
    if (precision == Precision::Torch) {
      const float scale = static_cast<float>(in) / static_cast<float>(out);
      i = static_cast<int>(std::floor(static_cast<float>(o) * scale));
    } else {
      i = static_cast<int>((o + 0.5) * (static_cast<double>(in) / out));
    }
    return std::clamp(i, 0, in - 1);
  };
  for (int yo = 0; yo < window_h; ++yo) {
    const int y = source_index(top + yo, in_h, out_h);
    for (int xo = 0; xo < window_w; ++xo) {
      const int x = source_index(left + xo, in_w, out_w);
      std::memcpy(dst + (static_cast<std::size_t>(yo) * window_w + xo) * kChannels,
                  src + (static_cast<std::size_t>(y) * in_w + x) * kChannels, kChannels);
    }
  }
}

}  // namespace xclip::vision
