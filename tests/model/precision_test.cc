// Reduced precision on checkpoints shaped like trained towers (outlier channels): `convert`
// to int8 and bf16 products hold against float32 on convert's probe inputs (8 synthetic
// videos x 400 prompts), and the outlier decomposition itself, op by op.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <tuple>

#include "ops/bf16_linear.h"
#include "ops/linear.h"
#include "ops/outlier_channels.h"
#include "ops/quantized_linear.h"
#include "support/model_fixture.h"

namespace xclip::test {
namespace {

namespace fs = std::filesystem;

// The bars: int8 embeddings within cosine 0.999 of float32, bf16 within 0.9999, and
// the same best prompt for at least 99 % of the probe videos.
constexpr double kInt8Cosine = 0.999, kBf16Cosine = 0.9999, kTop1 = 0.99;

std::string describe(const ConversionCheck& c) {
  return "video cosine " + std::to_string(c.min_video_cosine) + ", text cosine " + std::to_string(c.min_text_cosine) +
         ", top-1 " + std::to_string(c.top1_agreement);
}

bool holds_outlier_columns(const std::string& folder) {
  const io::SafetensorsFile f = io::SafetensorsFile::open(folder + "/model.safetensors");
  for (const std::string& name : f.names())
    if (name.find("_outlier_columns") != std::string::npos) return true;
  return false;
}

// (preset, pattern); pattern "none" is the preset itself.
class ReducedPrecisionTest : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(ReducedPrecisionTest, Int8ConvertsAndBf16HoldsAgainstFloat32) {
  const auto& [preset, pattern] = GetParam();
  const std::string source = pattern == "none" ? models_dir() + "/" + preset : outlier_folder(preset, pattern);
  const fs::path out = fs::path(scratch_dir()) / ("precision_int8_" + preset + "_" + pattern);
  fs::remove_all(out);

  const ConversionCheck int8 = convert_model(source, out.string());  // throws when refused
  EXPECT_TRUE(int8.passed) << describe(int8);
  EXPECT_EQ(int8.videos, 8);
  EXPECT_EQ(int8.prompts, 400);
  EXPECT_GE(int8.min_video_cosine, kInt8Cosine) << describe(int8);
  EXPECT_GE(int8.min_text_cosine, kInt8Cosine) << describe(int8);
  EXPECT_GE(int8.top1_agreement, kTop1) << describe(int8);
  EXPECT_EQ(Model::load(out.string())->weights(), WeightType::Int8);
  if (pattern != "none") {
    EXPECT_TRUE(holds_outlier_columns(out.string())) << "the outlier channels' float32 columns were not stored";
  }

  if (!ops::bf16_supported()) {
    EXPECT_THROW(check_precision(source, WeightType::Bf16), UnsupportedError);
    return;
  }
  const ConversionCheck bf16 = check_precision(source, WeightType::Bf16, kBf16Cosine, kTop1);
  EXPECT_TRUE(bf16.passed) << describe(bf16);
  EXPECT_GE(bf16.min_video_cosine, kBf16Cosine) << describe(bf16);
  EXPECT_GE(bf16.min_text_cosine, kBf16Cosine) << describe(bf16);
}

std::string param_name(const ::testing::TestParamInfo<std::tuple<std::string, std::string>>& info) {
  std::string n = std::get<0>(info.param) + "__" + std::get<1>(info.param);
  for (char& ch : n)
    if (ch == '-') ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(BasePatch32, ReducedPrecisionTest,
                         ::testing::Combine(::testing::Values("base-patch32"),
                                            ::testing::Values("none", "ln-gain", "ln-offset", "text-only", "massive")),
                         param_name);
// The other base presets on the two kinds of outliers (the presets themselves: golden.int8.*
// and golden.bf16.*); large-patch14's probe alone takes minutes here, so one pattern.
INSTANTIATE_TEST_SUITE_P(OtherBasePresets, ReducedPrecisionTest,
                         ::testing::Combine(::testing::Values("base-patch32-16f", "base-patch16"),
                                            ::testing::Values("ln-gain", "massive")),
                         param_name);
INSTANTIATE_TEST_SUITE_P(LargePreset, ReducedPrecisionTest,
                         ::testing::Combine(::testing::Values("large-patch14"), ::testing::Values("ln-gain")),
                         param_name);

// x[M, K] with three channels 40x the others, as a LayerNorm with large gains leaves them.
std::vector<float> activations_with_outliers(std::int64_t M, std::int64_t K, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(M * K));
  for (float& v : x) v = normal(rng);
  for (std::int64_t r = 0; r < M; ++r)
    for (std::int64_t j : {7, 100, 301}) x[r * K + j] *= 40.0f;
  return x;
}

std::vector<float> weights(std::int64_t N, std::int64_t K, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> w(static_cast<std::size_t>(N * K));
  for (float& v : w) v = normal(rng);
  return w;
}

double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, norm = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    err += (got[i] - want[i]) * static_cast<double>(got[i] - want[i]);
    norm += want[i] * static_cast<double>(want[i]);
  }
  return std::sqrt(err / norm);
}

TEST(OutlierChannelsTest, FindsPlantedChannelsAndNothingInOrdinaryRows) {
  const std::int64_t M = 50, K = 512;
  std::vector<std::int64_t> found;
  const std::vector<float> x = activations_with_outliers(M, K, 1);
  ops::find_outlier_channels(x.data(), M, K, K, found);
  EXPECT_EQ(found, (std::vector<std::int64_t>{7, 100, 301}));

  std::vector<float> plain = weights(M, K, 2);  // Gaussian rows peak near 4x their mean |x|
  ops::find_outlier_channels(plain.data(), M, K, K, found);
  EXPECT_TRUE(found.empty()) << found.size() << " channels flagged in Gaussian rows";

  // Narrow rows: the largest outlier inflates its row's mean enough to hide the next ones;
  // later passes, measuring rows without the channels found, find them.
  const std::int64_t narrow = 64;
  std::vector<float> small = weights(M, narrow, 3);
  for (std::int64_t r = 0; r < M; ++r) {
    const float sign = r % 2 ? 1.0f : -1.0f;
    small[r * narrow + 3] = sign * 0.02f * 400.0f;
    small[r * narrow + 17] = sign * 0.02f * 150.0f;
    small[r * narrow + 29] = sign * 0.02f * 80.0f;
  }
  ops::find_outlier_channels(small.data(), M, narrow, narrow, found);
  EXPECT_EQ(found, (std::vector<std::int64_t>{3, 17, 29}));

  // At most outlier_limit(K) channels, the largest.
  std::vector<float> many = weights(M, K, 4);
  for (std::int64_t r = 0; r < M; ++r)
    for (std::int64_t j = 0; j < 12; ++j) many[r * K + j * 12] = 0.02f * (100.0f + 20.0f * j);
  ops::find_outlier_channels(many.data(), M, K, K, found);
  ASSERT_EQ(static_cast<std::int64_t>(found.size()), ops::outlier_limit(K));
  EXPECT_EQ(found.front(), 4 * 12);
  EXPECT_EQ(found.back(), 11 * 12);
}

// Per-row int8 of these activations leaves the ordinary channels ~3 levels (relative error
// ~1e-1 before the decomposition); with the outliers multiplied in float32 the product is as
// good as on outlier-free rows.
TEST(OutlierChannelsTest, Int8AndBf16ProductsHoldOnOutlierActivations) {
  const std::int64_t M = 64, K = 512, N = 384;
  const std::vector<float> x = activations_with_outliers(M, K, 5);
  const std::vector<float> w = weights(N, K, 6);
  std::vector<float> want(static_cast<std::size_t>(M * N)), got(want.size());
  ops::linear(x.data(), M, K, K, w.data(), nullptr, N, want.data());

  ops::QuantizedMatrix q = ops::QuantizedMatrix::quantize(w.data(), N, K);
  ops::linear_q8(x.data(), M, K, K, q, nullptr, got.data(), cpu::Activation::Identity, false);
  EXPECT_LT(relative_error(got, want), 1e-2) << "int8 without float32 columns";
  q.exact.push_back(ops::ExactColumns{w.data(), Tensor(), Tensor()});
  ops::linear_q8(x.data(), M, K, K, q, nullptr, got.data(), cpu::Activation::Identity, false);
  const double int8_error = relative_error(got, want);
  EXPECT_LT(int8_error, 4e-3);

  // The activation waits for the outlier product: quick_gelu(x·Wᵀ) as one call.
  std::vector<float> act_want = want, act_got(want.size());
  for (float& v : act_want) v = v / (1.0f + std::exp(-1.702f * v));
  ops::linear_q8(x.data(), M, K, K, q, nullptr, act_got.data(), cpu::Activation::QuickGelu, false);
  EXPECT_LT(relative_error(act_got, act_want), 2 * int8_error + 1e-3);

  if (!ops::bf16_supported()) return;  // Bf16 loads refuse such CPUs (tested in ops_test)
  const auto b = ops::prepare_bf16(w.data(), N, K);
  ops::linear_bf16(x.data(), M, K, K, *b, nullptr, got.data(), cpu::Activation::Identity, false);
  EXPECT_LT(relative_error(got, want), 2e-3);
}

}  // namespace
}  // namespace xclip::test
