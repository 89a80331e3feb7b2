// xclip tokenize / xclip preprocess against the goldens, and their usage errors.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "support/compare.h"
#include "support/golden.h"
#include "support/model_fixture.h"

namespace xclip::test {
namespace {

TEST(TokenizeCliTest, MatchesGoldenPaddedBatch) {
  const RunResult r = run_cli("tokenize --model " + tiny_model_dir() +
                              " --padding longest --decode 'a' 'a dog running on the beach at sunset' "
                              "'two people are playing basketball in a gym at night, shouting loudly'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json out = nlohmann::json::parse(r.output);
  for (const auto& c : golden_index()["cases"]) {
    if (c["id"] != "tok/mixed_len/pad_longest") continue;
    EXPECT_EQ(out["input_ids"], c["input_ids"]);
    EXPECT_EQ(out["attention_mask"], c["attention_mask"]);
  }
  EXPECT_EQ(out["decoded"][0], "a");
}

TEST(TokenizeCliTest, TextsJsonAndErrors) {
  const std::string path = scratch_dir() + "/texts.json";
  std::ofstream(path) << R"(["café", "x"])";
  const RunResult ok = run_cli("tokenize --model " + tiny_model_dir() + " --texts-json " + path + " --max-length 3 --truncation");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(nlohmann::json::parse(ok.output)["input_ids"][0].size(), 3u);
  std::ofstream(path, std::ios::trunc) << R"(["a", 1])";
  EXPECT_EQ(run_cli("tokenize --model " + tiny_model_dir() + " --texts-json " + path).exit_code, 1);
  EXPECT_EQ(run_cli("tokenize --model " + tiny_model_dir()).exit_code, 2);
  EXPECT_EQ(run_cli("tokenize --model " + tiny_model_dir() + " --padding sideways x").exit_code, 2);
  EXPECT_EQ(run_cli("tokenize --model /nonexistent x").exit_code, 1);
  EXPECT_EQ(run_cli("tokenize --help").exit_code, 0);
}

TEST(PreprocessCliTest, MatchesGoldenPixels) {
  const io::SafetensorsFile g = io::SafetensorsFile::open(golden_dir() + "/golden_tiny.safetensors");
  const std::string frames = scratch_dir() + "/cli_frames.safetensors", out = scratch_dir() + "/cli_pixels.safetensors";
  io::write_safetensors(frames, {{"frames", g.get("tiny/inputs/frames/tinysrc_60x80")}});
  for (const std::string backend : {"torchvision", "pil"}) {
    const RunResult r = run_cli("preprocess --model " + tiny_model_dir() + " --frames " + frames + " --outputs " + out +
                                " --backend " + backend);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const Tensor pixels = io::SafetensorsFile::open(out).get("pixel_values");
    const Tensor all = g.get("tiny/inputs/pixel_values_2v");
    const Tensor first = Tensor::from_values<float>(DType::F32, {1, all.dim(1), 3, all.dim(3), all.dim(4)}, all.data<float>());
    const CompareResult c = compare_f32("pixel_values", pixels, first, {0.0176, 0.0, false});
    EXPECT_TRUE(c.ok) << backend << ": " << c.message;
  }
}

TEST(PreprocessCliTest, Errors) {
  const std::string frames = scratch_dir() + "/cli_bad_frames.safetensors";
  io::write_safetensors(frames, {{"frames", Tensor::zeros(DType::U8, {2, 8, 8, 2})}});
  const RunResult bad = run_cli("preprocess --model " + tiny_model_dir() + " --frames " + frames + " --outputs /tmp/x.st");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("channels"), std::string::npos) << bad.output;
  io::write_safetensors(frames, {{"pixels", Tensor::zeros(DType::U8, {2, 8, 8, 3})}});
  EXPECT_EQ(run_cli("preprocess --model " + tiny_model_dir() + " --frames " + frames + " --outputs /tmp/x.st").exit_code, 1);
  EXPECT_EQ(run_cli("preprocess --model " + tiny_model_dir() + " --frames " + frames + " --outputs /tmp/x.st --backend opencv").exit_code, 2);
}

}  // namespace
}  // namespace xclip::test
