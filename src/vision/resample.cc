#include "vision/resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/parallel.h"
#include "ops/cpu/kernels.h"

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
  c.fits_int16 = true;
  for (std::size_t i = 0; i < w.size(); ++i) {
    c.weights[i] = to_fixed(w[i], c.precision);
    c.fits_int16 &= c.weights[i] >= -32768 && c.weights[i] <= 32767;
  }
  if (c.fits_int16) {
    const int per_pixel = (c.ksize + 1) / 2;
    c.pairs.assign(static_cast<std::size_t>(out_size) * per_pixel, 0);
    for (int i = 0; i < out_size; ++i)
      for (int t = 0; t < c.count[i]; ++t) {
        const auto w = static_cast<std::uint32_t>(c.weights[static_cast<std::size_t>(i) * c.ksize + t]) & 0xffffu;
        c.pairs[static_cast<std::size_t>(i) * per_pixel + t / 2] |= static_cast<std::int32_t>(t % 2 ? w << 16 : w);
      }
  }
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

  // Pillow's 22-bit weights do not fit the SIMD kernels' int16 lanes: scalar for those.
  const cpu::CpuKernels& kernels = ch.fits_int16 ? cpu::kernels() : *cpu::kernels_for_isa("scalar");
  parallel_for(0, rows, 8, [&](std::int64_t lo, std::int64_t hi) {
    // The kernel may read 8 bytes past a pixel: rows go through a padded copy.
    const std::size_t slack = static_cast<std::size_t>(ch.ksize) * kChannels + 16;  // see u8_resample_row
    std::vector<std::uint8_t> padded(horizontal ? static_cast<std::size_t>(in_w) * kChannels + slack : 0);
    for (std::int64_t r = lo; r < hi; ++r) {
      const std::uint8_t* in = src + (static_cast<std::size_t>(row0 + r) * in_w) * kChannels;
      std::uint8_t* out = temp.data() + static_cast<std::size_t>(r) * window_w * kChannels;
      if (!horizontal) {
        std::memcpy(out, in + static_cast<std::size_t>(left) * kChannels, static_cast<std::size_t>(window_w) * kChannels);
        continue;
      }
      // Rows are contiguous, so reading past a row's end lands in the next ones; only the
      // image's last rows need the padded copy.
      const std::uint8_t* row = in;
      if (static_cast<std::size_t>(in_h - 1 - (row0 + r)) * in_w * kChannels < slack) {
        std::memcpy(padded.data(), in, static_cast<std::size_t>(in_w) * kChannels);
        row = padded.data();
      }
      kernels.u8_resample_row(row, ch.first.data() + left, ch.count.data() + left,
                              ch.weights.data() + static_cast<std::size_t>(left) * ch.ksize,
                              ch.pairs.empty() ? nullptr : ch.pairs.data() + static_cast<std::size_t>(left) * ((ch.ksize + 1) / 2), ch.ksize,
                              ch.precision, window_w, out);
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
