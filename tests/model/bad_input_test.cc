// Inputs that do not fit the model are rejected with InvalidArgument naming the input.
#include <gtest/gtest.h>

#include "support/model_fixture.h"

namespace xclip::test {
namespace {

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = Model::load(tiny_model_dir()); }
  static void TearDownTestSuite() { model_.reset(); }

  // Runs forward and returns the error message ("" if it did not throw InvalidArgument).
  std::string forward_error(const ForwardInputs& in, const ForwardOptions& options = {}) {
    Session session(model_);
    try {
      session.forward(in, options);
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "";
  }

  static Tensor ids(std::vector<std::int64_t> values, std::int64_t rows) {
    const std::int64_t cols = static_cast<std::int64_t>(values.size()) / rows;
    return Tensor::from_values<std::int64_t>(DType::I64, {rows, cols}, values.data());
  }

  static Tensor pixels(std::int64_t videos, std::int64_t frames, std::int64_t channels, std::int64_t h, std::int64_t w) {
    return Tensor::zeros(DType::F32, {videos, frames, channels, h, w});
  }

  static std::shared_ptr<const Model> model_;
  TinyInputs in_ = tiny_inputs();
};

std::shared_ptr<const Model> BadInputTest::model_;

#define EXPECT_MESSAGE(msg, fragment) EXPECT_NE((msg).find(fragment), std::string::npos) << "message: '" << (msg) << "'"

TEST_F(BadInputTest, ValidInputsRun) { EXPECT_EQ(forward_error({in_.input_ids, in_.attention_mask, in_.pixel_values}), ""); }

TEST_F(BadInputTest, TokenIdsOutsideTheVocabulary) {
  EXPECT_MESSAGE(forward_error({ids({49406, 49408, 49407}, 1), Tensor(), in_.pixel_values}),
                 "input_ids[0][1] = 49408 is outside the vocabulary [0, 49408)");
  EXPECT_MESSAGE(forward_error({ids({49406, -1, 49407}, 1), Tensor(), in_.pixel_values}), "outside the vocabulary");
}

TEST_F(BadInputTest, SequenceLongerThanMaxPositions) {
  std::vector<std::int64_t> long_ids(78, 320);
  EXPECT_MESSAGE(forward_error({ids(long_ids, 1), Tensor(), in_.pixel_values}),
                 "sequence length 78 exceeds max_position_embeddings = 77");
}

TEST_F(BadInputTest, BadIdsTensor) {
  EXPECT_MESSAGE(forward_error({Tensor::zeros(DType::F32, {1, 4}), Tensor(), in_.pixel_values}), "input_ids: expected I64");
  EXPECT_MESSAGE(forward_error({Tensor::zeros(DType::I64, {4}), Tensor(), in_.pixel_values}), "input_ids: expected I64");
  EXPECT_MESSAGE(forward_error({Tensor::zeros(DType::I64, {0, 4}), Tensor(), in_.pixel_values}), "empty batch");
  EXPECT_MESSAGE(forward_error({Tensor(), Tensor(), in_.pixel_values}), "forward needs input_ids");
}

TEST_F(BadInputTest, BadAttentionMask) {
  EXPECT_MESSAGE(forward_error({in_.input_ids, Tensor::zeros(DType::I64, {3, 5}), in_.pixel_values}),
                 "attention_mask: expected I64 [3, 4]");
  Tensor two = in_.attention_mask.clone();
  two.mutable_data<std::int64_t>()[0] = 2;
  EXPECT_MESSAGE(forward_error({in_.input_ids, two, in_.pixel_values}), "attention_mask[0][0] = 2, expected 0 or 1");
}

TEST_F(BadInputTest, WrongFrameCount) {
  EXPECT_MESSAGE(forward_error({in_.input_ids, in_.attention_mask, pixels(1, 3, 3, 32, 32)}),
                 "each video must have num_frames = 4 frames");
}

TEST_F(BadInputTest, WrongImageSizeNeedsInterpolation) {
  const ForwardInputs in{in_.input_ids, in_.attention_mask, pixels(1, 4, 3, 48, 48)};
  EXPECT_MESSAGE(forward_error(in), "input image size (48*48) doesn't match model (32*32)");
  ForwardOptions interpolate;
  interpolate.interpolate_pos_encoding = true;
  EXPECT_EQ(forward_error(in, interpolate), "");
  EXPECT_MESSAGE(forward_error({in_.input_ids, in_.attention_mask, pixels(1, 4, 3, 4, 40)}, interpolate),
                 "smaller than one 8px patch");
}

TEST_F(BadInputTest, WrongChannelsRankAndDtype) {
  EXPECT_MESSAGE(forward_error({in_.input_ids, in_.attention_mask, pixels(1, 4, 1, 32, 32)}), "expected 3 channels");
  EXPECT_MESSAGE(forward_error({in_.input_ids, in_.attention_mask, Tensor::zeros(DType::F32, {4, 3, 32, 32})}),
                 "pixel_values: expected F32 [videos, frames, channels, height, width]");
  EXPECT_MESSAGE(forward_error({in_.input_ids, in_.attention_mask, Tensor::zeros(DType::F64, {1, 4, 3, 32, 32})}),
                 "pixel_values: expected F32");
  EXPECT_MESSAGE(forward_error({in_.input_ids, in_.attention_mask, pixels(0, 4, 3, 32, 32)}), "no videos");
}

TEST_F(BadInputTest, LossNeedsAsManyTextsAsVideos) {
  ForwardOptions loss;
  loss.return_loss = true;
  EXPECT_MESSAGE(forward_error({in_.input_ids, in_.attention_mask, in_.pixel_values}, loss),
                 "return_loss needs as many texts as videos");
}

TEST_F(BadInputTest, PrecomputedTextFeaturesGiveTheSameLogits) {
  Session session(model_);
  const Tensor text_features = session.get_text_features(in_.input_ids, in_.attention_mask);
  const NamedTensors split = session.forward_with_text_features(in_.pixel_values, text_features);
  const NamedTensors full = session.forward({in_.input_ids, in_.attention_mask, in_.pixel_values});
  for (const char* name : {"logits_per_video", "logits_per_text", "text_embeds", "video_embeds"}) {
    const Tensor& a = split.at(name);
    const Tensor& b = full.at(name);
    ASSERT_EQ(a.shape(), b.shape()) << name;
    for (std::int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-6) << name;
  }
  EXPECT_THROW(session.forward_with_text_features(in_.pixel_values, Tensor::zeros(DType::F32, {3, 7})), InvalidArgument);
}

TEST_F(BadInputTest, FeatureEntryPointsValidateToo) {
  Session session(model_);
  EXPECT_THROW(session.get_text_features(ids({49406, 50000}, 1)), InvalidArgument);
  EXPECT_THROW(session.get_video_features(pixels(1, 5, 3, 32, 32)), InvalidArgument);
}

}  // namespace
}  // namespace xclip::test
