// Every kernel variant this CPU supports against double-precision references, on sizes
// below, at and above the vector widths, with outputs pre-filled with NaN.
#include "ops/cpu/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "vision/resample.h"

namespace xclip::cpu {
namespace {

const std::vector<std::int64_t> kSizes = {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 768, 1001};

std::vector<float> random_vector(std::int64_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// A random [rows, cols] matrix stored with rows `ld` floats apart, the padding NaN: a kernel
// that reads past `cols` poisons its output.
std::vector<float> random_rows_nan_padded(std::int64_t rows, std::int64_t cols, std::int64_t ld, unsigned seed) {
  std::vector<float> m = random_vector(rows * ld, seed);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = cols; c < ld; ++c) m[r * ld + c] = std::numeric_limits<float>::quiet_NaN();
  return m;
}

double reference_activation(Activation act, double v) {
  switch (act) {
    case Activation::Identity:
      return v;
    case Activation::QuickGelu:
      return v / (1.0 + std::exp(-1.702 * v));
    case Activation::Gelu:
      return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case Activation::GeluTanh:
      return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    case Activation::GeluFast:
      return 0.5 * v * (1.0 + std::tanh(v * 0.7978845608 * (1.0 + 0.044715 * v * v)));
    case Activation::Relu:
      return v > 0 ? v : 0.0;
    case Activation::Silu:
      return v / (1.0 + std::exp(-v));
  }
  return 0.0;
}

class KernelsTest : public ::testing::TestWithParam<std::string> {
 protected:
  const CpuKernels& k() const {
    const CpuKernels* table = kernels_for_isa(GetParam());
    if (table == nullptr) throw std::runtime_error("unsupported ISA " + GetParam());
    return *table;
  }
};

TEST_P(KernelsTest, Add) {
  for (std::int64_t n : kSizes) {
    auto x = random_vector(n, 3), y = random_vector(n, 4);
    auto out = y;
    k().f32_add(x.data(), out.data(), n);
    for (std::int64_t i = 0; i < n; ++i) EXPECT_NEAR(out[i], y[i] + x[i], 1e-6) << "n=" << n << " i=" << i;
  }
}

TEST_P(KernelsTest, LayerNorm) {
  for (std::int64_t n : kSizes) {
    auto x = random_vector(n, 5, 3.0f), w = random_vector(n, 6), b = random_vector(n, 7);
    for (float& v : x) v += 10.0f;  // a large mean checks the two-pass variance
    std::vector<float> y(static_cast<std::size_t>(n), std::numeric_limits<float>::quiet_NaN());
    k().f32_layer_norm(x.data(), w.data(), b.data(), 1e-5f, y.data(), n);
    double mean = 0, var = 0;
    for (float v : x) mean += v;
    mean /= n;
    for (float v : x) var += (v - mean) * (v - mean);
    var /= n;
    for (std::int64_t i = 0; i < n; ++i) {
      const double ref = (x[i] - mean) / std::sqrt(var + 1e-5) * w[i] + b[i];
      EXPECT_NEAR(y[i], ref, 2e-5 * (1 + std::fabs(ref))) << "n=" << n << " i=" << i;
    }
  }
}

// The outlier screening's row statistics: the largest |x| exactly, wherever it lies (first
// vector block, last full block, scalar tail), and the sum of |x|.
TEST_P(KernelsTest, AbsSumMax) {
  for (std::int64_t n : kSizes) {
    for (const std::int64_t at : {std::int64_t{0}, n / 2, n - 1}) {
      auto x = random_vector(n, 13, 2.0f);
      x[at] = -50.0f;
      float sum = NAN, max = NAN;
      k().f32_abs_sum_max(x.data(), n, &sum, &max);
      double ref = 0;
      for (float v : x) ref += std::fabs(v);
      EXPECT_EQ(max, 50.0f) << "n=" << n << " at=" << at;
      EXPECT_NEAR(sum, ref, 1e-5 * ref) << "n=" << n << " at=" << at;
    }
  }
}

TEST_P(KernelsTest, BiasActivation) {
  for (Activation act : {Activation::Identity, Activation::QuickGelu, Activation::Gelu, Activation::GeluTanh,
                         Activation::GeluFast, Activation::Relu, Activation::Silu}) {
    for (std::int64_t n : kSizes) {
      auto y = random_vector(n, 8, 4.0f), bias = random_vector(n, 9);
      y[0] = -100.0f;  // deep in the negative tail
      auto out = y;
      k().f32_bias_act(out.data(), bias.data(), n, act);
      for (std::int64_t i = 0; i < n; ++i) {
        const double ref = reference_activation(act, static_cast<double>(y[i]) + bias[i]);
        EXPECT_NEAR(out[i], ref, 2e-6 * (1 + std::fabs(ref)))
            << "act=" << static_cast<int>(act) << " n=" << n << " i=" << i;
      }
      auto no_bias = y;
      k().f32_bias_act(no_bias.data(), nullptr, n, act);
      EXPECT_NEAR(no_bias[n - 1], reference_activation(act, y[n - 1]), 2e-6 * (1 + std::fabs(y[n - 1])));
    }
  }
}

TEST_P(KernelsTest, QuantizeS8IsBitIdenticalToTheScalarVariant) {
  const CpuKernels& oracle = *kernels_for_isa("scalar");
  for (std::int64_t n : kSizes) {
    auto x = random_vector(n, 11, 3.0f);
    x[n / 2] = n % 2 ? 9.5f : -9.5f;  // the row's max, and ties at ±127·(k + 0.5)/9.5 nowhere near
    std::vector<std::int8_t> q(static_cast<std::size_t>(n), 99), ref(static_cast<std::size_t>(n), 99);
    const float scale = k().f32_quantize_s8(x.data(), n, q.data());
    const float ref_scale = oracle.f32_quantize_s8(x.data(), n, ref.data());
    EXPECT_EQ(scale, 9.5f / 127.0f) << "n=" << n;
    EXPECT_EQ(scale, ref_scale) << "n=" << n;
    for (std::int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(q[i], ref[i]) << "n=" << n << " i=" << i;
      EXPECT_NEAR(q[i] * scale, x[i], 0.5 * scale + 1e-7) << "n=" << n << " i=" << i;
    }
    EXPECT_EQ(q[n / 2], n % 2 ? 127 : -127) << "n=" << n;
  }
  std::vector<float> zeros(33, 0.0f);
  std::vector<std::int8_t> q(33, 99);
  EXPECT_EQ(k().f32_quantize_s8(zeros.data(), 33, q.data()), 1.0f);
  for (std::int8_t v : q) EXPECT_EQ(v, 0);
}

TEST_P(KernelsTest, QuantizeS8RoundsHalfToEven) {
  // Scale 1 (max 127): x·1 is exact, so ties stay ties.
  std::vector<float> x = {127.0f,  0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.49f, 0.0f,
                          -127.0f, 4.5f, 5.5f, 6.5f, 7.5f,  8.5f,  9.5f,  10.5f};
  std::vector<std::int8_t> expected = {127, 0, 2, 2, 0, -2, -2, 3, 0, -127, 4, 6, 6, 8, 8, 10, 10};
  std::vector<std::int8_t> q(x.size());
  EXPECT_EQ(k().f32_quantize_s8(x.data(), static_cast<std::int64_t>(x.size()), q.data()), 1.0f);
  EXPECT_EQ(q, expected);
}

TEST_P(KernelsTest, DequantizeBiasActivation) {
  for (Activation act : {Activation::Identity, Activation::QuickGelu, Activation::Gelu, Activation::GeluTanh,
                         Activation::GeluFast, Activation::Relu, Activation::Silu}) {
    for (std::int64_t n : kSizes) {
      std::mt19937 rng(12 + static_cast<unsigned>(n));
      std::uniform_int_distribution<std::int32_t> dist(-200000, 200000);
      std::vector<std::int32_t> acc(static_cast<std::size_t>(n));
      for (auto& a : acc) a = dist(rng);
      auto cols = random_vector(n, 13, 1e-5f), bias = random_vector(n, 14);
      const float row = 0.37f;
      std::vector<float> y(static_cast<std::size_t>(n), std::numeric_limits<float>::quiet_NaN());
      k().s32_dequantize_bias_act(acc.data(), n, 1, &row, cols.data(), bias.data(), y.data(), n, n, act, false);
      for (std::int64_t i = 0; i < n; ++i) {
        const double ref = reference_activation(act, static_cast<double>(acc[i]) * row * cols[i] + bias[i]);
        EXPECT_NEAR(y[i], ref, 2e-6 * (1 + std::fabs(ref)))
            << "act=" << static_cast<int>(act) << " n=" << n << " i=" << i;
      }
    }
  }
  const std::int64_t n = 37;
  std::vector<std::int32_t> acc(n, -3);
  std::vector<float> cols(n, 0.5f), y(n, 10.0f);
  const float two = 2.0f;
  k().s32_dequantize_bias_act(acc.data(), n, 1, &two, cols.data(), nullptr, y.data(), n, n, Activation::Identity, true);
  for (float v : y) EXPECT_EQ(v, 7.0f);
}

// Blocks of rows inside wider matrices (how the AMX products hand them over): each row its
// own scale, nothing written outside the block.
TEST_P(KernelsTest, DequantizeBlockOfRows) {
  const std::int64_t rows = 5, n = 32, ld_acc = 40, ldy = 70;
  std::vector<std::int32_t> acc(static_cast<std::size_t>(rows * ld_acc));
  for (std::size_t i = 0; i < acc.size(); ++i) acc[i] = static_cast<std::int32_t>(i * 37 % 2001) - 1000;
  const auto cols = random_vector(n, 21, 1e-3f), bias = random_vector(n, 22), row_scales = random_vector(rows, 23);
  for (bool accumulate : {false, true}) {
    const Activation act = accumulate ? Activation::Identity : Activation::QuickGelu;
    std::vector<float> y(static_cast<std::size_t>(rows * ldy), 1.5f);
    k().s32_dequantize_bias_act(acc.data(), ld_acc, rows, row_scales.data(), cols.data(), bias.data(), y.data(), ldy, n,
                                act, accumulate);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t i = 0; i < ldy; ++i) {
        const float got = y[r * ldy + i];
        if (i >= n) {
          EXPECT_EQ(got, 1.5f) << "wrote outside the block at row " << r << " column " << i;
          continue;
        }
        const double v = static_cast<double>(acc[r * ld_acc + i]) * row_scales[r] * cols[i] + bias[i];
        const double ref = accumulate ? 1.5 + v : reference_activation(act, v);
        EXPECT_NEAR(got, ref, 2e-6 * (1 + std::fabs(ref))) << "accumulate=" << accumulate << " r=" << r << " i=" << i;
      }
  }
}

TEST_P(KernelsTest, BiasActivationOfBlockOfRows) {
  const std::int64_t rows = 4, ldc = 36, ldy = 50;
  for (std::int64_t n : {7, 32, 33}) {
    const auto c = random_vector(rows * ldc, 31, 3.0f), bias = random_vector(n, 32);
    for (bool accumulate : {false, true})
      for (bool with_bias : {false, true}) {
        const Activation act = accumulate ? Activation::Identity : Activation::GeluTanh;
        std::vector<float> y(static_cast<std::size_t>(rows * ldy), -2.0f);
        k().f32_rows_bias_act(c.data(), ldc, rows, with_bias ? bias.data() : nullptr, y.data(), ldy, n, act,
                              accumulate);
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t i = 0; i < ldy; ++i) {
            const float got = y[r * ldy + i];
            if (i >= n) {
              EXPECT_EQ(got, -2.0f) << "wrote outside the block at row " << r << " column " << i;
              continue;
            }
            const double v = static_cast<double>(c[r * ldc + i]) + (with_bias ? bias[i] : 0.0);
            const double ref = accumulate ? -2.0 + v : reference_activation(act, v);
            EXPECT_NEAR(got, ref, 2e-6 * (1 + std::fabs(ref)))
                << "n=" << n << " accumulate=" << accumulate << " bias=" << with_bias << " r=" << r << " i=" << i;
          }
      }
  }
}

TEST_P(KernelsTest, SmallGemmReadsAndWritesOnlyTheNamedElements) {
  for (std::int64_t M : {1, 2, 3, 4, 5, 9, 50}) {
    for (std::int64_t N : {1, 7, 8, 16, 17, 33, 48, 64, 65, 80}) {
      for (std::int64_t K : {1, 5, 64}) {
        const std::int64_t lda = K + 3, ldb = N + 5, ldc = N + 2;
        const auto A = random_rows_nan_padded(M, K, lda, 15), B = random_rows_nan_padded(K, N, ldb, 16);
        std::vector<float> C(static_cast<std::size_t>(M * ldc), -7.0f);
        k().f32_small_gemm(M, N, K, 0.125f, A.data(), lda, B.data(), ldb, C.data(), ldc);
        for (std::int64_t i = 0; i < M; ++i) {
          for (std::int64_t j = 0; j < ldc; ++j) {
            if (j >= N) {
              EXPECT_EQ(C[i * ldc + j], -7.0f) << "wrote past N: M=" << M << " N=" << N << " K=" << K;
              continue;
            }
            double ref = 0;
            for (std::int64_t c = 0; c < K; ++c) ref += static_cast<double>(A[i * lda + c]) * B[c * ldb + j];
            EXPECT_NEAR(C[i * ldc + j], 0.125 * ref, 1e-5 * std::sqrt(static_cast<double>(K)))
                << "M=" << M << " N=" << N << " K=" << K << " i=" << i << " j=" << j;
          }
        }
      }
    }
  }
}

TEST_P(KernelsTest, FewRowsLinearReadsAndWritesOnlyTheNamedElements) {
  for (std::int64_t M : {1, 2, 3, 4, 5, 9}) {
    for (std::int64_t N : {1, 3, 4, 5, 8, 13}) {
      for (std::int64_t K : {1, 7, 16, 17, 40, 64}) {
        for (const bool accumulate : {false, true}) {
          const std::int64_t ldx = K + 3, ldw = K + 1, ldy = N + 2;
          const auto x = random_rows_nan_padded(M, K, ldx, 31), W = random_rows_nan_padded(N, K, ldw, 32);
          std::vector<float> y(static_cast<std::size_t>(M * ldy), -3.0f);
          k().f32_few_rows_linear(x.data(), M, ldx, W.data(), N, ldw, K, y.data(), ldy, accumulate);
          for (std::int64_t r = 0; r < M; ++r)
            for (std::int64_t n = 0; n < ldy; ++n) {
              if (n >= N) {
                EXPECT_EQ(y[r * ldy + n], -3.0f) << "wrote past N: M=" << M << " N=" << N << " K=" << K;
                continue;
              }
              double ref = accumulate ? -3.0 : 0.0;
              for (std::int64_t c = 0; c < K; ++c) ref += static_cast<double>(x[r * ldx + c]) * W[n * ldw + c];
              EXPECT_NEAR(y[r * ldy + n], ref, 1e-5 * std::sqrt(static_cast<double>(K)))
                  << "M=" << M << " N=" << N << " K=" << K << " accumulate=" << accumulate << " r=" << r
                  << " n=" << n;
            }
        }
      }
    }
  }
}

TEST_P(KernelsTest, Softmax) {
  for (std::int64_t n : kSizes) {
    auto x = random_vector(n, 10, 5.0f);
    if (n > 2) x[1] = std::numeric_limits<float>::lowest();  // a masked key
    auto out = x;
    k().f32_softmax(out.data(), n);
    double m = -1e300, sum = 0;
    for (float v : x) m = std::max(m, static_cast<double>(v));
    for (float v : x) sum += std::exp(static_cast<double>(v) - m);
    for (std::int64_t i = 0; i < n; ++i) {
      const double ref = std::exp(static_cast<double>(x[i]) - m) / sum;
      EXPECT_NEAR(out[i], ref, 1e-6) << "n=" << n << " i=" << i;
    }
    if (n > 2) {
      EXPECT_EQ(out[1], 0.0f);
    }
  }
}

TEST_P(KernelsTest, SoftmaxOfFullyMaskedRowIsUniformLikeTorch) {
  std::vector<float> x(5, std::numeric_limits<float>::lowest());
  k().f32_softmax(x.data(), 5);
  for (float v : x) EXPECT_FLOAT_EQ(v, 0.2f);
}

TEST_P(KernelsTest, ResampleRowMatchesScalar) {
  const CpuKernels& scalar = *kernels_for_isa("scalar");
  std::mt19937 rng(5);
  for (auto [in_w, out_w] : {std::pair{1920, 398}, {97, 32}, {131, 43}, {40, 300}, {33, 33 * 2 + 1}, {1000, 7}}) {
    for (auto filter : {vision::Filter::Bilinear, vision::Filter::Bicubic}) {
      const vision::Coefficients c = vision::compute_coefficients(in_w, out_w, filter, vision::Precision::Torch);
      ASSERT_TRUE(c.fits_int16);
      std::vector<std::uint8_t> row(static_cast<std::size_t>(in_w) * 3 + c.ksize * 3 + 16);
      for (auto& b : row) b = static_cast<std::uint8_t>(rng());
      std::vector<std::uint8_t> a(static_cast<std::size_t>(out_w) * 3, 0xAA), b(a.size(), 0x55);
      scalar.u8_resample_row(row.data(), c.first.data(), c.count.data(), c.weights.data(), c.pairs.data(), c.ksize,
                             c.precision, out_w, a.data());
      k().u8_resample_row(row.data(), c.first.data(), c.count.data(), c.weights.data(), c.pairs.data(), c.ksize,
                          c.precision, out_w, b.data());
      EXPECT_EQ(a, b) << GetParam() << " " << in_w << " -> " << out_w;
    }
  }
}

// The variants this CPU runs (a CPU without AVX-512 cannot test those kernels: they are not
// listed rather than skipped and counted as passes).
INSTANTIATE_TEST_SUITE_P(Isa, KernelsTest, ::testing::ValuesIn(supported_isas()),
                         [](const auto& info) { return info.param; });

TEST(KernelDispatchTest, ScalarAlwaysSupportedAndChosenIsSupported) {
  const auto isas = supported_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), "scalar");
  bool found = false;
  for (const auto& isa : isas) found |= isa == kernels().isa;
  EXPECT_TRUE(found) << "chosen ISA " << kernels().isa << " not in the supported list";
  EXPECT_EQ(kernels_for_isa("no-such-isa"), nullptr);
}

}  // namespace
}  // namespace xclip::cpu
