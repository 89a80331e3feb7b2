// End to end: videos made with ffmpeg -> xclip classify / embed with the synthetic tiny
// model give the same numbers as xclip frames -> preprocess -> tokenize -> forward.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "support/model_fixture.h"
#include "support/test_videos.h"

namespace xclip::test {
namespace {

const std::string kLabels = "playing sports,eating spaghetti,go shopping";

std::string make_clip(const std::string& name, const std::string& source) {
  return xclip::test::make_clip("cli_videos", name, source);
}

// The long way round: frames -> preprocess -> tokenize -> forward; returns the output file.
std::string reference_forward(const std::string& video, const std::string& tag, const std::string& extra = "") {
  const std::string s = scratch_dir() + "/e2e_" + tag;
  const std::string model = tiny_model_dir();
  EXPECT_EQ(run_cli("frames " + video + " --frames 4 --outputs " + s + "_frames.st").exit_code, 0);
  EXPECT_EQ(run_cli("preprocess --model " + model + " --frames " + s + "_frames.st --outputs " + s + "_pixels.st").exit_code, 0);
  const RunResult tok = run_cli("tokenize --model " + model + " --padding longest 'playing sports' 'eating spaghetti' 'go shopping'");
  EXPECT_EQ(tok.exit_code, 0) << tok.output;
  const nlohmann::json ids = nlohmann::json::parse(tok.output);
  const auto to_tensor = [](const nlohmann::json& rows) {
    std::vector<std::int64_t> flat;
    for (const auto& r : rows)
      for (const auto& v : r) flat.push_back(v.get<std::int64_t>());
    return Tensor::from_values<std::int64_t>(DType::I64, {static_cast<std::int64_t>(rows.size()),
                                                          static_cast<std::int64_t>(rows[0].size())}, flat.data());
  };
  const io::SafetensorsFile pixels = io::SafetensorsFile::open(s + "_pixels.st");
  io::write_safetensors(s + "_inputs.st", {{"input_ids", to_tensor(ids["input_ids"])},
                                           {"attention_mask", to_tensor(ids["attention_mask"])},
                                           {"pixel_values", pixels.get("pixel_values")}});
  const RunResult fwd = run_cli("forward --model " + model + " --inputs " + s + "_inputs.st --outputs " + s + "_out.st " + extra);
  EXPECT_EQ(fwd.exit_code, 0) << fwd.output;
  return s + "_out.st";
}

TEST(ClassifyCliTest, MatchesForwardOnTheSameFrames) {
  const std::string a = make_clip("a.mp4", "testsrc2=size=160x120:rate=25:duration=2");
  const std::string b = make_clip("b.mp4", "mandelbrot=size=96x64:rate=10:end_pts=2 -t 2");
  const RunResult r = run_cli("classify " + a + " " + b + " --model " + tiny_model_dir() + " --labels '" + kLabels +
                              "' --format json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json out = nlohmann::json::parse(r.output);
  ASSERT_EQ(out.size(), 2u);
  int v = 0;
  for (const std::string& video : {a, b}) {
    const io::SafetensorsFile ref = io::SafetensorsFile::open(reference_forward(video, "classify" + std::to_string(v)));
    const Tensor logits = ref.get("logits_per_video");
    std::vector<double> p(3);
    double m = -1e30, sum = 0;
    for (int i = 0; i < 3; ++i) m = std::max<double>(m, logits.data<float>()[i]);
    for (int i = 0; i < 3; ++i) sum += (p[i] = std::exp(logits.data<float>()[i] - m));
    EXPECT_EQ(out[v]["video"], video);
    const std::vector<std::string> labels = {"playing sports", "eating spaghetti", "go shopping"};
    double previous = 2.0;
    for (const auto& entry : out[v]["labels"]) {
      const auto it = std::find(labels.begin(), labels.end(), entry["label"].get<std::string>());
      ASSERT_NE(it, labels.end());
      EXPECT_NEAR(entry["probability"].get<double>(), p[it - labels.begin()] / sum, 1e-5) << video << " " << *it;
      EXPECT_LE(entry["probability"].get<double>(), previous) << "labels must be sorted by probability";
      previous = entry["probability"].get<double>();
    }
    ++v;
  }
}

TEST(ClassifyCliTest, EmbedMatchesVideoFeatures) {
  const std::string a = make_clip("a.mp4", "testsrc2=size=160x120:rate=25:duration=2");
  const std::string out = scratch_dir() + "/embed.safetensors";
  const RunResult r = run_cli("embed " + a + " --model " + tiny_model_dir() + " --output " + out + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const io::SafetensorsFile mine = io::SafetensorsFile::open(out);
  const io::SafetensorsFile ref = io::SafetensorsFile::open(reference_forward(a, "embed", "--features video"));
  const Tensor x = mine.get("video_embeds"), y = ref.get("video_features");
  ASSERT_EQ(x.numel(), y.numel());
  for (std::int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(x.data<float>()[i], y.data<float>()[i], 1e-5);
  EXPECT_NE(mine.metadata().at("videos").find(a), std::string::npos);
}

TEST(ClassifyCliTest, FormatsTopAndFailures) {
  const std::string a = make_clip("a.mp4", "testsrc2=size=160x120:rate=25:duration=2");
  const std::string labels = scratch_dir() + "/labels.txt";
  std::ofstream(labels) << "playing sports\neating spaghetti\n\ngo shopping\n";
  const RunResult csv = run_cli("classify " + a + " /nonexistent.mp4 --model " + tiny_model_dir() + " --labels-file " + labels +
                                " --format csv --top 2 --template 'a video of {}.' --quiet");
  EXPECT_EQ(csv.exit_code, 1) << "a failed video gives exit code 1";
  EXPECT_NE(csv.output.find("video,rank,label,probability"), std::string::npos) << csv.output;
  EXPECT_NE(csv.output.find("skipping /nonexistent.mp4"), std::string::npos) << csv.output;
  EXPECT_EQ(std::count(csv.output.begin(), csv.output.end(), '\n'), 4) << csv.output;  // header, 2 rows, error line
  EXPECT_EQ(run_cli("classify " + a + " --model " + tiny_model_dir()).exit_code, 2);                       // no labels
  EXPECT_EQ(run_cli("classify --model " + tiny_model_dir() + " --labels a").exit_code, 2);                // no videos
  EXPECT_EQ(run_cli("classify " + a + " --model " + tiny_model_dir() + " --labels a --frames 3").exit_code, 2);
  EXPECT_EQ(run_cli("classify " + a + " --model " + tiny_model_dir() + " --labels a --format xml").exit_code, 2);
  EXPECT_EQ(run_cli("embed " + a + " --model " + tiny_model_dir() + " --output x.txt").exit_code, 2);
  EXPECT_EQ(run_cli("classify " + a + " --model " + tiny_model_dir() + " --labels a,b --dtype fp16").exit_code, 2);
  const RunResult int8 = run_cli("classify " + a + " --model " + tiny_model_dir() + " --labels a,b --dtype int8 --format json");
  EXPECT_EQ(int8.exit_code, 0) << int8.output;
  const RunResult other = run_cli("classify " + a + " --model " + tiny_model_dir() + " --labels a --frames 6");
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.output.find("--interpolate-frames"), std::string::npos) << other.output;
  const RunResult six = run_cli("classify " + a + " --model " + tiny_model_dir() + " --labels a,b --frames 6 --interpolate-frames");
  EXPECT_EQ(six.exit_code, 0) << six.output;
  EXPECT_EQ(run_cli("frames " + a + " --seek nearest --outputs x.st").exit_code, 2);
  const std::string keyframes = scratch_dir() + "/keyframe_frames.st";
  EXPECT_EQ(run_cli("frames " + a + " --frames 4 --seek keyframe --outputs " + keyframes).exit_code, 0);
  const Tensor used = io::SafetensorsFile::open(keyframes).get("indices");
  for (std::int64_t i = 0; i < used.numel(); ++i) EXPECT_EQ(used.data<std::int64_t>()[i] % 10, 0) << "keyframe every 10";
  const RunResult zero = run_cli("classify " + a + " --model " + tiny_model_dir() + " --labels a --frames 0");
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_NE(zero.output.find("--frames must be positive"), std::string::npos) << zero.output;
  EXPECT_EQ(run_cli("frames " + a + " --frames 0 --outputs x.st").exit_code, 2);
  EXPECT_EQ(run_cli("frames " + a + " --num-frames 4 --outputs x.st").exit_code, 2) << "one spelling: --frames";
  const std::string texts = scratch_dir() + "/quiet_texts.npy";
  const RunResult quiet = run_cli("embed-text --quiet --model " + tiny_model_dir() + " a b --output " + texts);
  EXPECT_EQ(quiet.exit_code, 0) << quiet.output;
  for (const char* cmd : {"classify", "embed", "embed-text", "probe", "frames", "tokenize", "preprocess", "forward"})
    EXPECT_EQ(run_cli(std::string(cmd) + " --help").exit_code, 0) << cmd;
}

TEST(ClassifyCliTest, EmbedTextFormats) {
  for (const std::string ext : {".npy", ".jsonl", ".safetensors"}) {
    const std::string out = scratch_dir() + "/texts" + ext;
    const RunResult r = run_cli("embed-text 'playing sports' 'go shopping' --normalize --model " + tiny_model_dir() + " --output " + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_GT(std::filesystem::file_size(out), 64u) << ext;
  }
  std::ifstream in(scratch_dir() + "/texts.jsonl");
  std::string line;
  std::getline(in, line);
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["text"], "playing sports");
  double norm = 0;
  for (const auto& v : j["embedding"]) norm += v.get<double>() * v.get<double>();
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

}  // namespace
}  // namespace xclip::test
