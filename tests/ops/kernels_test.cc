// Every kernel variant this CPU supports against double-precision references, on sizes
// below, at and above the vector widths, with outputs pre-filled with NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ops/cpu/kernels.h"
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

double reference_activation(Activation act, double v) {
  switch (act) {
    case Activation::Identity: return v;
    case Activation::QuickGelu: return v / (1.0 + std::exp(-1.702 * v));
    case Activation::Gelu: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case Activation::GeluTanh:
      return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    case Activation::GeluFast: return 0.5 * v * (1.0 + std::tanh(v * 0.7978845608 * (1.0 + 0.044715 * v * v)));
    case Activation::Relu: return v > 0 ? v : 0.0;
    case Activation::Silu: return v / (1.0 + std::exp(-v));
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
  void SetUp() override {
    if (kernels_for_isa(GetParam()) == nullptr) GTEST_SKIP() << GetParam() << " not supported by this CPU";
  }
};

TEST_P(KernelsTest, Dot) {
  for (std::int64_t n : kSizes) {
    auto a = random_vector(n, 1), b = random_vector(n, 2);
    double ref = 0;
    for (std::int64_t i = 0; i < n; ++i) ref += static_cast<double>(a[i]) * b[i];
    EXPECT_NEAR(k().f32_dot(a.data(), b.data(), n), ref, 1e-5 * std::sqrt(static_cast<double>(n)) + 1e-6) << "n=" << n;
  }
}

TEST_P(KernelsTest, AxpyAddScale) {
  for (std::int64_t n : kSizes) {
    auto x = random_vector(n, 3), y = random_vector(n, 4);
    auto y1 = y, y2 = y, y3 = y;
    k().f32_axpy(0.75f, x.data(), y1.data(), n);
    k().f32_add(x.data(), y2.data(), n);
    k().f32_scale(-2.0f, y3.data(), n);
    for (std::int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(y1[i], y[i] + 0.75 * x[i], 1e-6) << "axpy n=" << n << " i=" << i;
      EXPECT_NEAR(y2[i], y[i] + x[i], 1e-6) << "add n=" << n << " i=" << i;
      EXPECT_EQ(y3[i], -2.0f * y[i]) << "scale n=" << n << " i=" << i;
    }
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
        EXPECT_NEAR(out[i], ref, 2e-6 * (1 + std::fabs(ref))) << "act=" << static_cast<int>(act) << " n=" << n << " i=" << i;
      }
      auto no_bias = y;
      k().f32_bias_act(no_bias.data(), nullptr, n, act);
      EXPECT_NEAR(no_bias[n - 1], reference_activation(act, y[n - 1]), 2e-6 * (1 + std::fabs(y[n - 1])));
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

INSTANTIATE_TEST_SUITE_P(Isa, KernelsTest, ::testing::Values("scalar", "avx2", "avx512"),
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
