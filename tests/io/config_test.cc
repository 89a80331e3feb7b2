// config.json parsing: both transformers layouts, defaults, validation errors.
#include <gtest/gtest.h>

#include <fstream>

#include "support/test_paths.h"
#include "xclip/error.h"
#include "xclip/model.h"

namespace xclip {
namespace {

void expect_format_error(const std::string& json, const std::string& fragment) {
  try {
    XCLIPConfig::from_json(json, "config.json");
    FAIL() << "expected FormatError for " << json;
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(ConfigTest, EmptyObjectGivesTheDocumentedDefaults) {
  const XCLIPConfig c = XCLIPConfig::from_json("{}", "config.json");
  EXPECT_EQ(c.projection_dim, 512);
  EXPECT_EQ(c.prompt_layers, 2);
  EXPECT_DOUBLE_EQ(c.prompt_alpha, 0.1);
  EXPECT_EQ(c.prompt_num_attention_heads, 8);
  EXPECT_EQ(c.text_config.vocab_size, 49408);
  EXPECT_EQ(c.text_config.max_position_embeddings, 77);
  EXPECT_EQ(c.vision_config.hidden_size, 768);
  EXPECT_EQ(c.vision_config.patch_size, 32);
  EXPECT_EQ(c.vision_config.num_frames, 8);
  EXPECT_EQ(c.vision_config.mit_hidden_size, 512);
  EXPECT_EQ(c.vision_config.hidden_act, "quick_gelu");
}

TEST(ConfigTest, ReadsTransformers5Layout) {
  const XCLIPConfig c = XCLIPConfig::from_file(test::golden_dir() + "/hf_saved/model__config.json");
  EXPECT_EQ(c.projection_dim, 32);
  EXPECT_EQ(c.prompt_num_attention_heads, 4);
  EXPECT_EQ(c.text_config.hidden_size, 32);
  EXPECT_EQ(c.vision_config.num_frames, 4);
  EXPECT_EQ(c.vision_config.patch_size, 8);
}

TEST(ConfigTest, ConfigDictOverridesConfig) {
  const XCLIPConfig c = XCLIPConfig::from_json(
      R"({"text_config": {"hidden_size": 64, "num_attention_heads": 4}, "text_config_dict": {"hidden_size": 128},
          "vision_config": null, "vision_config_dict": {"num_frames": 16}})",
      "config.json");
  EXPECT_EQ(c.text_config.hidden_size, 128);
  EXPECT_EQ(c.text_config.num_attention_heads, 4);
  EXPECT_EQ(c.vision_config.num_frames, 16);
}

TEST(ConfigTest, NullFieldsTakeDefaultsAndUnknownFieldsAreIgnored) {
  const XCLIPConfig c = XCLIPConfig::from_json(R"({"projection_dim": null, "foo": [1, 2], "text_config": {"bar": {}}})",
                                               "config.json");
  EXPECT_EQ(c.projection_dim, 512);
}

TEST(ConfigTest, AcceptsEveryListedActivation) {
  for (const char* act : {"quick_gelu", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu"}) {
    EXPECT_NO_THROW(XCLIPConfig::from_json(std::string(R"({"prompt_hidden_act": ")") + act + "\"}", "config.json")) << act;
  }
}

TEST(ConfigTest, RejectsBadInput) {
  expect_format_error("{not json", "not valid JSON");
  expect_format_error("[1]", "top level must be a JSON object");
  expect_format_error(R"({"model_type": "clip"})", "expected 'xclip'");
  expect_format_error(R"({"projection_dim": "512"})", "projection_dim must be an integer");
  expect_format_error(R"({"projection_dim": 1.5})", "projection_dim must be an integer");
  expect_format_error(R"({"text_config": {"hidden_act": "mish"}})", "text_config.hidden_act = 'mish' is not supported");
  expect_format_error(R"({"text_config": {"hidden_size": 100}})", "not divisible");
  expect_format_error(R"({"vision_config": {"num_frames": 0}})", "num_frames must be positive");
  expect_format_error(R"({"vision_config": {"mit_hidden_size": 256, "mit_num_attention_heads": 8}})",
                      "must equal projection_dim");
  expect_format_error(R"({"text_config": 5})", "text_config must be an object");
  expect_format_error(R"({"vision_config": {"layer_norm_eps": "x"}})", "layer_norm_eps must be a number");
}

TEST(ConfigTest, MissingFileIsIoError) { EXPECT_THROW(XCLIPConfig::from_file("/nonexistent/config.json"), IoError); }

}  // namespace
}  // namespace xclip
