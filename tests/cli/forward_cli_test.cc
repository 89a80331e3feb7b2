// The xclip CLI as a user runs it: files in, files out, exit codes 0 / 1 / 2.
#include <gtest/gtest.h>

#include "cli/cli_runner.h"
#include "support/compare.h"
#include "support/model_fixture.h"

namespace xclip::test {
namespace {

std::string write_inputs(const std::string& name, const TensorList& tensors) {
  const std::string path = scratch_dir() + "/cli_" + name + ".safetensors";
  io::write_safetensors(path, tensors);
  return path;
}

TEST(ForwardCliTest, ForwardMatchesGoldenOutputs) {
  const io::SafetensorsFile golden = io::SafetensorsFile::open(golden_dir() + "/golden_tiny.safetensors");
  const TinyInputs in = tiny_inputs();
  const std::string inputs =
      write_inputs("fwd", {{"input_ids", in.input_ids}, {"attention_mask", in.attention_mask}, {"pixel_values", in.pixel_values}});
  const std::string outputs = scratch_dir() + "/cli_fwd_out.safetensors";
  const RunResult r = run_cli("forward --model " + tiny_model_dir() + " --inputs " + inputs + " --outputs " + outputs +
                              " --hidden-states --attentions");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const io::SafetensorsFile out = io::SafetensorsFile::open(outputs);
  for (const char* name : {"logits_per_video", "logits_per_text", "text_embeds", "video_embeds"}) {
    const CompareResult c = compare_f32(name, out.get(name), golden.get(std::string("tiny/fwd_2v3t/") + name), {2e-5, 0, false});
    EXPECT_TRUE(c.ok) << c.message;
  }
  const CompareResult h = compare_f32("vision hidden 2", out.get("vision_model_output/hidden_states/2"),
                                      golden.get("tiny/fwd_2v3t/vision_model_output/hidden_states/2"), {0, 1e-4, true});
  EXPECT_TRUE(h.ok) << h.message;
  EXPECT_TRUE(out.contains("text_model_output/attentions/1"));
}

TEST(ForwardCliTest, FeaturesOnly) {
  const io::SafetensorsFile golden = io::SafetensorsFile::open(golden_dir() + "/golden_tiny.safetensors");
  const TinyInputs in = tiny_inputs();
  const std::string inputs = write_inputs("feat", {{"input_ids", in.input_ids}, {"attention_mask", in.attention_mask},
                                                   {"pixel_values", in.pixel_values}});
  const std::string outputs = scratch_dir() + "/cli_feat_out.safetensors";
  for (const std::string kind : {"text", "video"}) {
    const RunResult r = run_cli("forward --model " + tiny_model_dir() + " --inputs " + inputs + " --outputs " + outputs +
                                " --features " + kind);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string name = kind + "_features";
    const CompareResult c = compare_f32(name, io::SafetensorsFile::open(outputs).get(name),
                                        golden.get("tiny/get_" + name + "/" + name), {2e-5, 0, false});
    EXPECT_TRUE(c.ok) << c.message;
  }
}

TEST(ForwardCliTest, UsageErrorsExitWith2) {
  EXPECT_EQ(run_cli("").exit_code, 2);
  EXPECT_EQ(run_cli("frobnicate").exit_code, 2);
  const RunResult missing = run_cli("forward --inputs a --outputs b");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("--model is required"), std::string::npos) << missing.output;
  EXPECT_EQ(run_cli("forward --model x --inputs a --outputs b --bogus").exit_code, 2);
  EXPECT_EQ(run_cli("forward --model x --inputs a --outputs b --features audio").exit_code, 2);
  const RunResult help = run_cli("forward --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("usage: xclip forward"), std::string::npos);
}

TEST(ForwardCliTest, RuntimeErrorsExitWith1AndNameTheInput) {
  const TinyInputs in = tiny_inputs();
  const std::string inputs = write_inputs("rt", {{"input_ids", in.input_ids}, {"pixel_values", in.pixel_values}});
  const RunResult no_model = run_cli("forward --model /nonexistent/m --inputs " + inputs + " --outputs /tmp/x.st");
  EXPECT_EQ(no_model.exit_code, 1);
  EXPECT_NE(no_model.output.find("/nonexistent/m"), std::string::npos) << no_model.output;
  const RunResult no_inputs = run_cli("forward --model " + tiny_model_dir() + " --inputs /nonexistent/in.st --outputs /tmp/x.st");
  EXPECT_EQ(no_inputs.exit_code, 1);
  EXPECT_NE(no_inputs.output.find("/nonexistent/in.st"), std::string::npos) << no_inputs.output;
  const std::string partial = write_inputs("partial", {{"input_ids", in.input_ids}});
  const RunResult no_pixels = run_cli("forward --model " + tiny_model_dir() + " --inputs " + partial + " --outputs /tmp/x.st");
  EXPECT_EQ(no_pixels.exit_code, 1);
  EXPECT_NE(no_pixels.output.find("no tensor named 'pixel_values'"), std::string::npos) << no_pixels.output;
}

}  // namespace
}  // namespace xclip::test
