// Op front-ends against naive double-precision references: GEMM, linear, attention (masks,
// weights), bicubic resize, half-precision conversion. Run with 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/parallel.h"
#include "io/weight_store.h"
#include "model/weight_loader.h"
#include "ops/attention.h"
#include "ops/bf16_linear.h"
#include "ops/convert.h"
#include "ops/gemm.h"
#include "ops/interpolate.h"
#include "ops/linear.h"
#include "ops/quantized_linear.h"
#include "xclip/error.h"

namespace xclip::ops {
namespace {

std::vector<float> random_vector(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

class OpsTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { set_num_threads(GetParam()); }
  void TearDown() override { set_num_threads(0); }
};

TEST_P(OpsTest, GemmBothLayoutsAndAccumulate) {
  const std::int64_t M = 37, N = 29, K = 53;
  auto A = random_vector(M * K, 1), W = random_vector(N * K, 2), C0 = random_vector(M * N, 3);
  std::vector<float> B(K * N);  // W transposed
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t k = 0; k < K; ++k) B[k * N + n] = W[n * K + k];
  std::vector<float> c1(M * N, NAN), c2(M * N, NAN), c3 = C0;
  gemm_f32(true, M, N, K, A.data(), K, W.data(), K, 0.0f, c1.data(), N);
  gemm_f32(false, M, N, K, A.data(), K, B.data(), N, 0.0f, c2.data(), N);
  gemm_f32(true, M, N, K, A.data(), K, W.data(), K, 1.0f, c3.data(), N);
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double ref = 0;
      for (std::int64_t k = 0; k < K; ++k) ref += static_cast<double>(A[m * K + k]) * W[n * K + k];
      EXPECT_NEAR(c1[m * N + n], ref, 1e-4);
      EXPECT_NEAR(c2[m * N + n], ref, 1e-4);
      EXPECT_NEAR(c3[m * N + n], ref + C0[m * N + n], 1e-4);
    }
}

// From 128 rows per thread the product is split by rows, each part a sequential sgemm: row
// counts around the switch and odd ones, three threads (parts of unequal size), strides
// wider than the matrices, both layouts, accumulation into C.
TEST_P(OpsTest, GemmSplitByRowsMatchesReference) {
  const std::int64_t N = 40, K = 70, lda = 75, ldc = 43;
  for (const int threads : {GetParam(), 3}) {
    set_num_threads(threads);
    for (const std::int64_t M : {255, 256, 257, 383, 385, 1001}) {
      auto A = random_vector(M * lda, 7), W = random_vector(N * K, 8), C0 = random_vector(M * ldc, 9);
      std::vector<float> B(K * N);  // W transposed
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t k = 0; k < K; ++k) B[k * N + n] = W[n * K + k];
      std::vector<float> c1(M * ldc, NAN), c2 = C0;
      gemm_f32(true, M, N, K, A.data(), lda, W.data(), K, 0.0f, c1.data(), ldc);
      gemm_f32(false, M, N, K, A.data(), lda, B.data(), N, 1.0f, c2.data(), ldc);
      double worst = 0.0;
      std::int64_t not_finite = 0;  // a row not written keeps c1's NaN
      for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t n = 0; n < N; ++n) {
          double ref = 0;
          for (std::int64_t k = 0; k < K; ++k) ref += static_cast<double>(A[m * lda + k]) * W[n * K + k];
          const double e1 = c1[m * ldc + n] - ref, e2 = c2[m * ldc + n] - (ref + C0[m * ldc + n]);
          if (!std::isfinite(e1) || !std::isfinite(e2)) ++not_finite;
          worst = std::max({worst, std::fabs(e1), std::fabs(e2)});
        }
      EXPECT_EQ(not_finite, 0) << M << " rows, " << threads << " threads";
      EXPECT_LT(worst, 1e-4) << M << " rows, " << threads << " threads";
      for (std::int64_t m = 0; m < M; ++m)  // the columns between N and ldc stay untouched
        for (std::int64_t n = N; n < ldc; ++n) ASSERT_TRUE(std::isnan(c1[m * ldc + n])) << m << ", " << n;
    }
  }
}

TEST_P(OpsTest, LinearWithStridedInputBiasAndActivation) {
  const std::int64_t M = 5, K = 16, N = 7, ldx = 24;
  auto x = random_vector(M * ldx, 4), W = random_vector(N * K, 5), b = random_vector(N, 6);
  std::vector<float> y(M * N, NAN);
  linear(x.data(), M, K, ldx, W.data(), b.data(), N, y.data(), cpu::Activation::Relu);
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double ref = b[n];
      for (std::int64_t k = 0; k < K; ++k) ref += static_cast<double>(x[m * ldx + k]) * W[n * K + k];
      EXPECT_NEAR(y[m * N + n], std::max(ref, 0.0), 1e-4);
    }
}

// Products of kFewRowsMin to kFewRows rows take the kernel that reads W in place, others the
// GEMM library: both sides of both switches, with the epilogues, a stride and N not a multiple
// of the kernel's 4 columns (the threads' slices then end mid-block).
TEST_P(OpsTest, LinearOnBothSidesOfTheFewRowsSwitch) {
  const std::int64_t K = 45, N = 37, ldx = 50;
  for (const std::int64_t M : {kFewRowsMin - 1, kFewRowsMin, std::int64_t{7}, kFewRows, kFewRows + 1, std::int64_t{70}}) {
    auto x = random_vector(M * ldx, 7), W = random_vector(N * K, 8), b = random_vector(N, 9);
    auto start = random_vector(M * N, 10);
    std::vector<float> y(M * N, NAN), acc = start;
    linear(x.data(), M, K, ldx, W.data(), b.data(), N, y.data(), cpu::Activation::QuickGelu);
    std::vector<float> packed_x(M * K);  // linear_accumulate takes dense rows
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t k = 0; k < K; ++k) packed_x[m * K + k] = x[m * ldx + k];
    linear_accumulate(packed_x.data(), M, K, W.data(), b.data(), N, acc.data());
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t n = 0; n < N; ++n) {
        double v = b[n];
        for (std::int64_t k = 0; k < K; ++k) v += static_cast<double>(x[m * ldx + k]) * W[n * K + k];
        EXPECT_NEAR(y[m * N + n], v / (1.0 + std::exp(-1.702 * v)), 1e-4) << "M=" << M << " m=" << m << " n=" << n;
        EXPECT_NEAR(acc[m * N + n], start[m * N + n] + v, 1e-4) << "M=" << M << " m=" << m << " n=" << n;
      }
  }
}

// Naive attention in double with transformers' additive-mask semantics.
std::vector<double> reference_attention(const AttentionShape& s, const std::vector<float>& q,
                                        const std::vector<float>& k, const std::vector<float>& v,
                                        const AttentionMask& mask, std::vector<double>* weights) {
  const std::int64_t D = s.heads * s.head_dim;
  std::vector<double> out(s.batch * s.q_len * D, 0.0);
  weights->assign(s.batch * s.heads * s.q_len * s.kv_len, 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
  for (std::int64_t b = 0; b < s.batch; ++b)
    for (std::int64_t h = 0; h < s.heads; ++h)
      for (std::int64_t i = 0; i < s.q_len; ++i) {
        std::vector<double> sc(s.kv_len);
        double m = -1e308;
        for (std::int64_t j = 0; j < s.kv_len; ++j) {
          double dot = 0;
          for (std::int64_t d = 0; d < s.head_dim; ++d)
            dot += static_cast<double>(q[(b * s.q_len + i) * D + h * s.head_dim + d]) *
                   k[(b * s.kv_len + j) * D + h * s.head_dim + d];
          const bool masked = (mask.causal && j > i) || (mask.key_padding && mask.key_padding[b * s.kv_len + j] == 0);
          sc[j] = masked ? -1e300 : dot * scale;
          m = std::max(m, sc[j]);
        }
        double sum = 0;
        for (double& x : sc) sum += (x = std::exp(x - m));
        for (std::int64_t j = 0; j < s.kv_len; ++j) {
          const double p = sc[j] / sum;
          (*weights)[((b * s.heads + h) * s.q_len + i) * s.kv_len + j] = p;
          for (std::int64_t d = 0; d < s.head_dim; ++d)
            out[(b * s.q_len + i) * D + h * s.head_dim + d] += p * v[(b * s.kv_len + j) * D + h * s.head_dim + d];
        }
      }
  return out;
}

TEST_P(OpsTest, AttentionMatchesReference) {
  const std::vector<std::int64_t> padding = {1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  for (bool causal : {false, true}) {
    for (bool padded : {false, true}) {
      const AttentionShape s{2, 6, 6, 3, 5};
      const std::int64_t D = s.heads * s.head_dim;
      auto q = random_vector(s.batch * s.q_len * D, 11), k = random_vector(s.batch * s.kv_len * D, 12),
           v = random_vector(s.batch * s.kv_len * D, 13);
      AttentionMask mask;
      mask.causal = causal;
      mask.key_padding = padded ? padding.data() : nullptr;
      std::vector<float> out(q.size(), NAN), weights(s.batch * s.heads * s.q_len * s.kv_len, NAN);
      attention(s, q.data(), D, k.data(), D, v.data(), D, 1.0f / std::sqrt(5.0f), mask, out.data(), weights.data());
      std::vector<double> ref_weights;
      const auto ref = reference_attention(s, q, k, v, mask, &ref_weights);
      for (std::size_t i = 0; i < out.size(); ++i)
        EXPECT_NEAR(out[i], ref[i], 1e-5) << "causal=" << causal << " i=" << i;
      for (std::size_t i = 0; i < weights.size(); ++i) EXPECT_NEAR(weights[i], ref_weights[i], 1e-6);
    }
  }
}

TEST_P(OpsTest, CrossAttentionShapes) {
  const AttentionShape s{3, 4, 9, 2, 8};
  const std::int64_t D = 16;
  auto q = random_vector(s.batch * s.q_len * D, 21), k = random_vector(s.batch * s.kv_len * D, 22),
       v = random_vector(s.batch * s.kv_len * D, 23);
  std::vector<float> out(q.size(), NAN);
  attention(s, q.data(), D, k.data(), D, v.data(), D, 0.25f * std::sqrt(2.0f), AttentionMask{}, out.data(), nullptr);
  std::vector<double> w;
  AttentionMask none;
  // reference uses 1/sqrt(head_dim) = 1/sqrt(8)
  const auto ref = reference_attention(s, q, k, v, none, &w);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], ref[i], 1e-5);
}

TEST_P(OpsTest, Int8LinearTracksFloat) {
  const std::int64_t M = 23, K = 96, N = 40, ldx = 100;
  auto x = random_vector(M * ldx, 41), W = random_vector(N * K, 42), b = random_vector(N, 43),
       y0 = random_vector(M * N, 44);
  const QuantizedMatrix q = QuantizedMatrix::quantize(W.data(), N, K);
  // Dequantised weights are within half a step of the originals.
  for (std::int64_t i = 0; i < N * K; ++i)
    ASSERT_NEAR(q.values.data<std::int8_t>()[i] * q.scales.data<float>()[i / K], W[i],
                0.5f * q.scales.data<float>()[i / K] + 1e-7f);
  std::vector<float> y(M * N, NAN), acc = y0, ref(M * N);
  linear_q8(x.data(), M, K, ldx, q, b.data(), y.data(), cpu::Activation::Identity, false);
  linear_q8(x.data(), M, K, ldx, q, b.data(), acc.data(), cpu::Activation::Identity, true);
  linear(x.data(), M, K, ldx, W.data(), b.data(), N, ref.data());
  double err = 0, norm = 0;
  for (std::int64_t i = 0; i < M * N; ++i) {
    err += (y[i] - ref[i]) * (y[i] - ref[i]);
    norm += ref[i] * ref[i];
    EXPECT_NEAR(acc[i], y0[i] + y[i], 1e-4);
  }
  EXPECT_LT(std::sqrt(err / norm), 0.02) << "int8 relative error";
}

// Values on the int8 grids (each activation row and weight row peaks at ±127 steps) quantize
// without rounding, so an int8 product equals the float one up to float rounding, whatever
// the CPU: exact int32 kernels where they exist, float32 on the dequantized weights where
// oneDNN's would saturate pairs of u8·s8 products in int16 (no VNNI). Most values sit at the
// ends of the range, which is where saturating kernels go wrong (by tens of percent).
TEST_P(OpsTest, Int8ProductsOfExtremeValuesAreExact) {
  const std::int64_t K = 256, N = 48;
  std::uint32_t state = 7;
  auto steps = [&state]() {
    state = state * 1664525u + 1013904223u;
    const int magnitude = (state >> 27) % 8 == 0 ? static_cast<int>((state >> 16) % 128) : 127;
    return static_cast<float>((state >> 31) ? -magnitude : magnitude);
  };
  std::vector<float> W(N * K);
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t k = 0; k < K; ++k) W[n * K + k] = steps() * 0.01f * static_cast<float>(n + 1);
    W[n * K] = 127.0f * 0.01f * static_cast<float>(n + 1);  // the row's peak: scale = one step
  }
  const QuantizedMatrix q = QuantizedMatrix::quantize(W.data(), N, K);
  for (const std::int64_t M : {1, 37, 408}) {
    std::vector<float> x(M * K);
    for (std::int64_t r = 0; r < M; ++r) {
      for (std::int64_t k = 0; k < K; ++k) x[r * K + k] = steps() * 0.5f;
      x[r * K + 1] = -127.0f * 0.5f;
    }
    std::vector<float> y(M * N, NAN);
    linear_q8(x.data(), M, K, K, q, nullptr, y.data(), cpu::Activation::Identity, false);
    for (std::int64_t r = 0; r < M; ++r)
      for (std::int64_t n = 0; n < N; ++n) {
        double want = 0, magnitude = 0;
        for (std::int64_t k = 0; k < K; ++k) {
          want += double{x[r * K + k]} * W[n * K + k];
          magnitude += std::abs(double{x[r * K + k]} * W[n * K + k]);
        }
        ASSERT_NEAR(y[r * N + n], want, 1e-5 * magnitude)
            << "M=" << M << " row " << r << " column " << n << (int8_products_exact() ? " (int8 kernels)" : " (float32)");
      }
  }
}

// The packed matmul path (weights reordered for oneDNN's matmul primitive) is exact int32
// arithmetic like the GEMM API path: the same floats for any row count, also when one packed
// matrix serves several row counts and odd shapes.
TEST_P(OpsTest, PackedInt8MatmulEqualsTheGemmPath) {
  for (const auto& [K, N] : {std::pair<std::int64_t, std::int64_t>{96, 40}, {768, 2304}, {33, 7}}) {
    auto W = random_vector(N * K, 45);
    const QuantizedMatrix plain = QuantizedMatrix::quantize(W.data(), N, K);
    QuantizedMatrix packed = plain;
    packed.pack();
    ASSERT_NE(packed.packed, nullptr);
    for (const std::int64_t M : {1, 7, 51, 408, 7}) {
      // oneDNN has optimised int8 matmuls from AVX-512 on; elsewhere the GEMM API serves.
      if (__builtin_cpu_supports("avx512bw")) {
        EXPECT_TRUE(uses_packed_matmul(packed, M)) << "M=" << M;
      }
      auto x = random_vector(M * K, 46 + static_cast<unsigned>(M)), b = random_vector(N, 47);
      std::vector<float> expected(M * N, NAN), got(M * N, NAN);
      linear_q8(x.data(), M, K, K, plain, b.data(), expected.data(), cpu::Activation::QuickGelu, false);
      linear_q8(x.data(), M, K, K, packed, b.data(), got.data(), cpu::Activation::QuickGelu, false);
      for (std::int64_t i = 0; i < M * N; ++i)
        ASSERT_EQ(got[i], expected[i]) << "K=" << K << " N=" << N << " M=" << M << " i=" << i;
    }
  }
}

// A row's int8 result must not depend on how many rows share its product nor on the kernel:
// packed weights run on the AMX tiles where the CPU has them (oneDNN's packed matmul
// elsewhere), unpacked ones on oneDNN's GEMM API, all exact int32 with the same epilogue, so
// the rows must agree bit for bit. bf16 has one kernel per CPU: 1,100 and 70 rows must agree
// to float32 rounding (the tiles' padding rows and work items differ between the two).
TEST_P(OpsTest, ReducedPrecisionRowsAgreeAcrossRowCounts) {
  const std::int64_t M = 1100, part = 70, K = 768, N = 2304;
  auto W = random_vector(N * K, 61), b = random_vector(N, 62), x = random_vector(M * K, 63);
  const QuantizedMatrix unpacked = QuantizedMatrix::quantize(W.data(), N, K);
  QuantizedMatrix q = unpacked;
  q.pack();
  std::vector<float> whole(M * N, NAN), first(part * N, NAN), first_unpacked(part * N, NAN);
  linear_q8(x.data(), M, K, K, q, b.data(), whole.data(), cpu::Activation::QuickGelu, false);
  linear_q8(x.data(), part, K, K, q, b.data(), first.data(), cpu::Activation::QuickGelu, false);
  linear_q8(x.data(), part, K, K, unpacked, b.data(), first_unpacked.data(), cpu::Activation::QuickGelu, false);
  for (std::int64_t i = 0; i < part * N; ++i) {
    ASSERT_EQ(first[i], whole[i]) << "int8, element " << i;
    ASSERT_EQ(first_unpacked[i], whole[i]) << "int8 unpacked, element " << i;
  }
  if (!bf16_supported()) return;  // refused there: Bf16LinearTracksFloat checks the refusal
  const auto w16 = prepare_bf16(W.data(), N, K);
  linear_bf16(x.data(), M, K, K, *w16, b.data(), whole.data(), cpu::Activation::Identity, false);
  linear_bf16(x.data(), part, K, K, *w16, b.data(), first.data(), cpu::Activation::Identity, false);
  for (std::int64_t i = 0; i < part * N; ++i) {
    double magnitude = std::abs(b[i % N]);
    for (std::int64_t k = 0; k < K; ++k) magnitude += std::abs(double{x[i / N * K + k]} * W[i % N * K + k]);
    ASSERT_NEAR(first[i], whole[i], 2.0 * K * 0x1p-24 * magnitude) << "bf16, element " << i;
  }
}

// bf16 products (AVX512-BF16 CPUs) track float32 to bf16's precision for every activation,
// with and without bias, and accumulate onto y when asked.
TEST_P(OpsTest, Bf16LinearTracksFloat) {
  if (!bf16_supported()) {
    // Without AVX512-BF16 nothing reaches these products: asking for bf16 is refused.
    const io::WeightStore none = io::WeightStore::from_tensors({}, "no weights");
    EXPECT_THROW(model::resolve_precision(WeightType::Bf16, none, false), UnsupportedError);
    return;
  }
  const std::int64_t K = 96, N = 40, ldx = 100;
  auto W = random_vector(N * K, 51), b = random_vector(N, 52);
  const auto w16 = prepare_bf16(W.data(), N, K);
  for (const std::int64_t M : {1, 23, 51}) {
    auto x = random_vector(M * ldx, 53 + static_cast<unsigned>(M)), y0 = random_vector(M * N, 54);
    for (cpu::Activation act : {cpu::Activation::Identity, cpu::Activation::QuickGelu, cpu::Activation::Gelu,
                                cpu::Activation::GeluTanh, cpu::Activation::Relu, cpu::Activation::Silu}) {
      for (const float* bias : {static_cast<const float*>(b.data()), static_cast<const float*>(nullptr)}) {
        std::vector<float> y(M * N, NAN), ref(M * N);
        linear_bf16(x.data(), M, K, ldx, *w16, bias, y.data(), act, false);
        linear(x.data(), M, K, ldx, W.data(), bias, N, ref.data(), act);
        // Inputs and weights rounded to 8 significant bits (relative 2^-9 each), products
        // summed in float32 over K = 96 terms of outputs with RMS ~10: ~0.3 % RMS error.
        double err = 0, norm = 0;
        for (std::int64_t i = 0; i < M * N; ++i) {
          ASSERT_TRUE(std::isfinite(y[i])) << "M=" << M << " i=" << i;
          err += (y[i] - ref[i]) * (y[i] - ref[i]);
          norm += ref[i] * ref[i];
        }
        EXPECT_LT(std::sqrt(err / norm), 0.01)
            << "M=" << M << " act=" << static_cast<int>(act) << " bias=" << (bias != nullptr);
      }
    }
    std::vector<float> acc = y0, once(M * N);
    linear_bf16(x.data(), M, K, ldx, *w16, b.data(), once.data(), cpu::Activation::Identity, false);
    linear_bf16(x.data(), M, K, ldx, *w16, b.data(), acc.data(), cpu::Activation::Identity, true);
    for (std::int64_t i = 0; i < M * N; ++i) EXPECT_NEAR(acc[i], y0[i] + once[i], 1e-4) << "M=" << M << " i=" << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, OpsTest, ::testing::Values(1, 2));

TEST(InterpolateTest, SameSizeIsIdentity) {
  auto in = random_vector(2 * 5 * 5, 31);
  std::vector<float> out(in.size(), NAN);
  bicubic_resize(in.data(), 2, 5, 5, out.data(), 5, 5);
  for (std::size_t i = 0; i < in.size(); ++i) EXPECT_NEAR(out[i], in[i], 1e-6);
}

TEST(InterpolateTest, ConstantStaysConstantAndRampFollowsKeysWeights) {
  std::vector<float> c(16, 3.0f), out(49, NAN);
  bicubic_resize(c.data(), 1, 4, 4, out.data(), 7, 7);
  for (float v : out) EXPECT_NEAR(v, 3.0f, 1e-5);
  // A horizontal ramp upsampled 2x. Output x=4 samples source 1.75: Keys weights with
  // A = -0.75 at t = 0.75 are (-0.03515625, 0.26171875, 0.87890625, -0.10546875) on source
  // columns 0..3, giving 1.703125 (not 1.75: A = -0.75 does not reproduce lines exactly);
  // x=5 samples 2.25 (t = 0.25, the mirrored weights on columns 1..4) -> 2.296875.
  std::vector<float> ramp(8 * 8), up(16 * 16, NAN);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) ramp[y * 8 + x] = static_cast<float>(x);
  bicubic_resize(ramp.data(), 1, 8, 8, up.data(), 16, 16);
  EXPECT_NEAR(up[5 * 16 + 4], 1.703125f, 1e-6);
  EXPECT_NEAR(up[5 * 16 + 5], 2.296875f, 1e-6);
  // Border: output x=0 samples -0.25 (t = 0.75); its taps -2..1 clamp to columns 0, 0, 0, 1,
  // so only the last weight meets a non-zero value: -0.10546875.
  EXPECT_NEAR(up[0], -0.10546875f, 1e-6);
}

TEST(ConvertTest, HalfAndBfloat16) {
  const std::uint16_t half[] = {0x3c00, 0xc000, 0x0000, 0x8000, 0x7c00, 0x0001, 0x3555, 0x7bff};
  const float expected[] = {1.0f,          -2.0f,       0.0f,    -0.0f, std::numeric_limits<float>::infinity(),
                            5.9604645e-8f, 0.33325195f, 65504.0f};
  float out[8];
  f16_to_f32(half, out, 8);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], expected[i]) << i;
  const std::uint16_t nan_half = 0x7e00;
  f16_to_f32(&nan_half, out, 1);
  EXPECT_TRUE(std::isnan(out[0]));
  const std::uint16_t bf[] = {0x3f80, 0xc040, 0x0000};
  bf16_to_f32(bf, out, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -3.0f);
  EXPECT_EQ(out[2], 0.0f);
}

TEST(ConvertTest, Float32ToBfloat16RoundsToNearestEven) {
  // 1 + 2^-8 is halfway between bf16 1.0 and 1 + 2^-7: ties go to the even mantissa (1.0);
  // 1 + 3·2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties go up to the even one.
  const float in[] = {1.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-16f, -3.0f, 0.0f};
  const std::uint16_t expected[] = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0xc040, 0x0000};
  std::uint16_t out[6];
  f32_to_bf16(in, out, 6);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], expected[i]) << i;
}

}  // namespace
}  // namespace xclip::ops
