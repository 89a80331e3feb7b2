// convert_model / `xclip convert`: int8 folders load ready to run and compute what quantizing
// at load computes (to int8's own precision); float32 conversion is lossless; hostile int8
// weights are named.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <tuple>

#include <nlohmann/json.hpp>

#include "api/conversion_check.h"
#include "cli/cli_runner.h"
#include "support/model_fixture.h"

namespace xclip::test {
namespace {

namespace fs = std::filesystem;

std::string scratch_folder(const std::string& name) {
  const fs::path dir = fs::path(scratch_dir()) / ("convert_" + name);
  fs::remove_all(dir);
  return dir.string();
}

NamedTensors run(const std::string& dir, WeightType weights) {
  LoadOptions options;
  options.weights = weights;
  auto model = Model::load(dir, options);
  Session session(model);
  const TinyInputs in = tiny_inputs();
  return session.forward({in.input_ids, in.attention_mask, in.pixel_values});
}

void expect_identical(const NamedTensors& a, const NamedTensors& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a.items()) {
    const Tensor& u = b.at(name);
    ASSERT_EQ(t.shape(), u.shape()) << name;
    if (t.dtype() != DType::F32) continue;
    for (std::int64_t i = 0; i < t.numel(); ++i)
      ASSERT_EQ(t.data<float>()[i], u.data<float>()[i]) << name << " element " << i;
  }
}

// Rewrites the converted folder's model.safetensors with `edit` applied to its tensor list.
void edit_tensors(const std::string& dir, const std::function<void(TensorList&)>& edit) {
  TensorList tensors;
  {
    const io::SafetensorsFile f = io::SafetensorsFile::open(dir + "/model.safetensors");
    for (const std::string& name : f.names()) {
      const Tensor t = f.get(name);
      Tensor copy = Tensor::empty(t.dtype(), t.shape());  // owned: the file is rewritten below
      std::memcpy(copy.mutable_raw(), t.raw(), t.nbytes());
      tensors.emplace_back(name, std::move(copy));
    }
  }
  edit(tensors);
  io::write_safetensors(dir + "/model.safetensors", tensors);
}

// Embeddings of two runs agree row by row within `cosine`.
void expect_embeddings_close(const NamedTensors& a, const NamedTensors& b, double cosine) {
  for (const char* name : {"video_embeds", "text_embeds"}) {
    const Tensor& t = a.at(name);
    const Tensor& u = b.at(name);
    ASSERT_EQ(t.shape(), u.shape()) << name;
    const std::int64_t d = t.dim(-1);
    for (std::int64_t r = 0; r < t.numel() / d; ++r) {
      double tu = 0, tt = 0, uu = 0;
      for (std::int64_t i = 0; i < d; ++i) {
        const double x = t.data<float>()[r * d + i], y = u.data<float>()[r * d + i];
        tu += x * y;
        tt += x * x;
        uu += y * y;
      }
      EXPECT_GE(tu / std::sqrt(tt * uu), cosine) << name << " row " << r;
    }
  }
}

TEST(ConvertTest, Int8FolderRunsLikeQuantizingAtLoad) {
  const std::string out = scratch_folder("int8");
  convert_model(tiny_model_dir(), out);
  for (const char* side : {"config.json", "tokenizer_config.json", "preprocessor_config.json"})
    EXPECT_TRUE(fs::exists(fs::path(out) / side)) << side;
  const io::SafetensorsFile f = io::SafetensorsFile::open(out + "/model.safetensors");
  EXPECT_EQ(f.get("vision_model.encoder.layers.0.mlp.fc1.weight").dtype(), DType::I8);
  EXPECT_EQ(f.get("vision_model.encoder.layers.0.mlp.fc1.weight_scale").dtype(), DType::F32);
  EXPECT_EQ(f.get("text_model.encoder.layers.0.self_attn.k_proj.weight").dtype(), DType::I8);
  EXPECT_EQ(f.get("visual_projection.weight").dtype(), DType::F32);  // projection heads stay float
  EXPECT_EQ(f.get("text_model.encoder.layers.0.layer_norm1.weight").dtype(), DType::F32);
  EXPECT_EQ(f.metadata().at("xclip_weights"), "int8");

  EXPECT_EQ(Model::load(out)->weights(), WeightType::Int8);  // Auto follows the folder
  EXPECT_EQ(Model::load(tiny_model_dir())->weights(), WeightType::F32);
  // Same int8 values and scales; the products differ only where an input has an outlier
  // channel that convert's probe inputs did not show: quantizing at load then multiplies it
  // with the float32 column, the folder with the int8 one (it stores float32 columns only for
  // the channels seen). So: as close as int8 is to float32, not bit for bit.
  expect_embeddings_close(run(out, WeightType::Auto), run(tiny_model_dir(), WeightType::Int8), 0.999);

  // Converting an int8 folder again keeps its values bit for bit.
  const std::string again = scratch_folder("int8_again");
  convert_model(out, again);
  expect_identical(run(again, WeightType::Auto), run(out, WeightType::Auto));
}

TEST(ConvertTest, Float32ConversionIsLosslessAndInt8FoldersDequantize) {
  const std::string f32 = scratch_folder("f32");
  ConvertOptions options;
  options.weights = WeightType::F32;
  convert_model(tiny_model_dir(), f32, options);
  expect_identical(run(f32, WeightType::Auto), run(tiny_model_dir(), WeightType::F32));

  const std::string int8 = scratch_folder("int8_for_f32");
  convert_model(tiny_model_dir(), int8);
  const std::string back = scratch_folder("f32_from_int8");
  convert_model(int8, back, options);
  EXPECT_EQ(Model::load(back)->weights(), WeightType::F32);
  // Float32 math on the dequantized weights: the same either way it is asked for.
  expect_identical(run(back, WeightType::Auto), run(int8, WeightType::F32));
}

TEST(ConvertTest, RefusesToOverwriteTheSourceAndNamesBadInputs) {
  EXPECT_THROW(convert_model(tiny_model_dir(), tiny_model_dir()), InvalidArgument);
  EXPECT_THROW(convert_model("/nonexistent/model", scratch_folder("none")), IoError);
  ConvertOptions auto_weights;
  auto_weights.weights = WeightType::Auto;
  EXPECT_THROW(convert_model(tiny_model_dir(), scratch_folder("auto"), auto_weights), InvalidArgument);
  // A broken source is reported as loading reports it, and nothing is written.
  const std::string broken = copy_tiny_folder("convert_broken");
  TensorList tensors = tiny_tensors();
  tensors.pop_back();
  io::write_safetensors(broken + "/model.safetensors", tensors);
  const std::string out = scratch_folder("from_broken");
  EXPECT_THROW(convert_model(broken, out), FormatError);
  EXPECT_FALSE(fs::exists(fs::path(out) / "model.safetensors"));
}

Tensor outlier_channels(std::vector<std::int64_t> channels) {
  return Tensor::from_values<std::int64_t>(DType::I64, {static_cast<std::int64_t>(channels.size())}, channels.data());
}

// F32 [rows of the first vision fc1, n] zeros: outlier columns shaped for that weight.
Tensor zero_columns(const TensorList& tensors, std::int64_t n) {
  for (const auto& [name, t] : tensors)
    if (name == "vision_model.encoder.layers.0.mlp.fc1.weight") return Tensor::zeros(DType::F32, {t.dim(0), n});
  throw std::runtime_error("fc1 weight missing from the converted folder");
}

void add_outlier_tensors(TensorList& tensors, const std::string& weight, std::vector<std::int64_t> channels,
                         Tensor columns) {
  tensors.emplace_back(weight + "_outlier_channels", outlier_channels(std::move(channels)));
  tensors.emplace_back(weight + "_outlier_columns", std::move(columns));
}

TEST(ConvertTest, HostileInt8PairsAreRejectedByName) {
  const std::string fc1 = "vision_model.encoder.layers.0.mlp.fc1.weight";
  struct Case {
    const char* what;
    std::function<void(TensorList&)> edit;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"scale missing",
       [&](TensorList& t) { std::erase_if(t, [&](const auto& e) { return e.first == fc1 + "_scale"; }); },
       "int8 weight without its per-row scales"},
      {"scale NaN",
       [&](TensorList& t) {
         for (auto& [name, v] : t)
           if (name == fc1 + "_scale") v.mutable_data<float>()[3] = std::numeric_limits<float>::quiet_NaN();
       },
       "int8 scales must be finite and positive"},
      {"scale wrong shape",
       [&](TensorList& t) {
         for (auto& [name, v] : t)
           if (name == fc1 + "_scale") v = Tensor::zeros(DType::F32, {2, v.dim(0)});
       },
       "_scale: expected F32"},
      {"int8 layer norm",
       [&](TensorList& t) {
         for (auto& [name, v] : t)
           if (name == "vision_model.encoder.layers.0.layer_norm1.weight") v = Tensor::zeros(DType::I8, v.shape());
       },
       "layer_norm1.weight: dtype I8, but int8 is only for linear weights"},
      {"int8 weight mis-shaped",
       [&](TensorList& t) {
         for (auto& [name, v] : t)
           if (name == fc1) v = Tensor::zeros(DType::I8, {v.dim(1), v.dim(0)});
       },
       "fc1.weight: expected shape"},
      {"outlier channels without columns",
       [&](TensorList& t) { t.emplace_back(fc1 + "_outlier_channels", outlier_channels({1, 5})); },
       "without its partner"},
      {"outlier channels not ascending",
       [&](TensorList& t) { add_outlier_tensors(t, fc1, {5, 1}, zero_columns(t, 2)); },
       "channels must be ascending input channels"},
      {"outlier channel out of range",
       [&](TensorList& t) { add_outlier_tensors(t, fc1, {1, 100000}, zero_columns(t, 2)); },
       "channels must be ascending input channels"},
      {"outlier columns mis-shaped",
       [&](TensorList& t) { add_outlier_tensors(t, fc1, {1, 5}, zero_columns(t, 3)); },
       "_outlier_columns: expected F32"},
      {"outlier columns not finite",
       [&](TensorList& t) {
         Tensor columns = zero_columns(t, 2);
         columns.mutable_data<float>()[1] = std::numeric_limits<float>::infinity();
         add_outlier_tensors(t, fc1, {1, 5}, columns);
       },
       "is not finite"},
  };
  for (const Case& c : cases) {
    const std::string dir = scratch_folder("hostile");
    convert_model(tiny_model_dir(), dir);
    edit_tensors(dir, [](TensorList& t) {  // the tiny preset has no outliers: start without columns
      std::erase_if(t, [](const auto& e) { return e.first.find("_outlier_") != std::string::npos; });
    });
    edit_tensors(dir, c.edit);
    const std::string message = expect_load_error(dir);
    EXPECT_NE(message.find(c.message), std::string::npos) << c.what << ": " << message;
  }
}

TEST(ConvertCliTest, ConvertsAndReportsUsageErrors) {
  const std::string out = scratch_folder("cli");
  const RunResult ok = run_cli("convert --model " + tiny_model_dir() + " --output " + out);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(Model::load(out)->weights(), WeightType::Int8);
  EXPECT_EQ(run_cli("convert --model " + tiny_model_dir()).exit_code, 2);
  EXPECT_EQ(run_cli("convert --model " + tiny_model_dir() + " --output " + out + " --dtype bf16").exit_code, 2);
  const RunResult same = run_cli("convert --model " + tiny_model_dir() + " --output " + tiny_model_dir());
  EXPECT_EQ(same.exit_code, 1);
  EXPECT_NE(same.output.find("the destination is the source folder"), std::string::npos) << same.output;
  EXPECT_EQ(run_cli("convert --help").exit_code, 0);
  EXPECT_EQ(run_cli("forward --model x --inputs a --outputs b --dtype int4").exit_code, 2);
}

}  // namespace
}  // namespace xclip::test

namespace xclip::test {
namespace {

TEST(ConvertCheckTest, RecordsThePassingCheckAndAutoTrustsOnlyCheckedFolders) {
  const std::string out = scratch_folder("checked");
  const ConversionCheck check = convert_model(tiny_model_dir(), out);
  EXPECT_TRUE(check.passed);
  EXPECT_EQ(check.videos, 8);
  EXPECT_EQ(check.prompts, 400);
  EXPECT_GE(check.min_video_cosine, 0.999);
  EXPECT_GE(check.min_text_cosine, 0.999);
  EXPECT_EQ(check.top1_agreement, 1.0);
  EXPECT_EQ(check.products, int8_products_exact() ? "int8" : "float32");
  const std::optional<ConversionCheck> recorded = read_conversion_check(out);
  ASSERT_TRUE(recorded.has_value());
  EXPECT_EQ(recorded->to_json(), check.to_json());
  EXPECT_FALSE(read_conversion_check(tiny_model_dir()).has_value());
  EXPECT_EQ(Model::load(out)->weights(), WeightType::Int8);
  // What the index records before it loads anything says what loading runs.
  EXPECT_EQ(Model::resolve_weights(out, WeightType::Auto), WeightType::Int8);
  EXPECT_EQ(Model::resolve_weights(tiny_model_dir(), WeightType::Auto), WeightType::F32);
  EXPECT_EQ(Model::resolve_weights(tiny_model_dir(), WeightType::Int8), WeightType::Int8);
  EXPECT_EQ(Model::resolve_weights(out, WeightType::F32), WeightType::F32);
  EXPECT_THROW(Model::resolve_weights("/nonexistent/model", WeightType::Auto), IoError);

  // An int8 folder without a recorded check (an older convert) runs in float32 by default.
  edit_tensors(out, [](TensorList&) {});
  EXPECT_FALSE(read_conversion_check(out).has_value());
  EXPECT_EQ(Model::load(out)->weights(), WeightType::F32);
  EXPECT_EQ(Model::resolve_weights(out, WeightType::Auto), WeightType::F32);
  LoadOptions int8;
  int8.weights = WeightType::Int8;
  EXPECT_EQ(Model::load(out, int8)->weights(), WeightType::Int8);
}

// A check made with int8 weights multiplied in float32 (a CPU without VNNI) vouches for CPUs
// that do the same, not for int8 kernels; checks from before the field ran on int8 kernels.
TEST(ConvertCheckTest, AutoTrustsACheckOnlyForTheProductsItRanOn) {
  ConversionCheck check;
  check.passed = true;
  for (const char* products : {"int8", "float32"}) {
    check.products = products;
    const ConversionCheck read = ConversionCheck::from_json(check.to_json(), "test");
    EXPECT_EQ(read.products, products);
    EXPECT_TRUE(api::int8_check_trusted(read, false)) << products;
    EXPECT_EQ(api::int8_check_trusted(read, true), check.products == "int8") << products;
  }
  check.passed = false;
  EXPECT_FALSE(api::int8_check_trusted(check, false));
  EXPECT_FALSE(api::int8_check_trusted(std::nullopt, false));

  nlohmann::json older = nlohmann::json::parse(check.to_json());
  older.erase("products");
  EXPECT_EQ(ConversionCheck::from_json(older.dump(), "older").products, "int8");
  older["products"] = "fp4";
  EXPECT_THROW(ConversionCheck::from_json(older.dump(), "older"), FormatError);
}

// The unbalanced fixture is ill-conditioned (see make_outlier_checkpoint.py): no 8-bit
// product holds on it, so convert must refuse. The realistic outlier shapes convert (tested
// in precision_test.cc).
class UnquantizableConvertTest : public ::testing::TestWithParam<std::string> {};

TEST_P(UnquantizableConvertTest, RefusesWhatInt8WouldChangeAndForceRecordsTheFailure) {
  const std::string preset = GetParam();
  const std::string source = outlier_folder(preset, "unbalanced");
  const std::string out = scratch_folder("unbalanced_int8_" + preset);
  try {
    convert_model(source, out);
    FAIL() << preset << ": int8 conversion of an ill-conditioned checkpoint was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("int8 would change this model's answers"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out + "/model.safetensors")) << "a refused conversion writes nothing";

  ConvertOptions force;
  force.force = true;
  const ConversionCheck check = convert_model(source, out, force);
  EXPECT_FALSE(check.passed);
  ASSERT_TRUE(read_conversion_check(out).has_value());
  EXPECT_FALSE(read_conversion_check(out)->passed);
  EXPECT_EQ(Model::load(out)->weights(), WeightType::F32) << "auto must not run a failed int8 folder in int8";
}

INSTANTIATE_TEST_SUITE_P(Tiny, UnquantizableConvertTest, ::testing::Values("tiny"));
INSTANTIATE_TEST_SUITE_P(BasePatch32, UnquantizableConvertTest, ::testing::Values("base-patch32"));

TEST(ConvertCheckCliTest, InfoPrintsTheCheckAndConvertReportsIt) {
  const std::string out = scratch_folder("cli_checked");
  const RunResult converted = run_cli("convert --model " + tiny_model_dir() + " --output " + out);
  EXPECT_EQ(converted.exit_code, 0) << converted.output;
  EXPECT_NE(converted.output.find("int8 self-check on 8 videos x 400 prompts"), std::string::npos) << converted.output;
  const RunResult info = run_cli("info --model " + out);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("\"runs_in\": \"int8\""), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("\"passed\": true"), std::string::npos) << info.output;
  // Where int8 weights are multiplied in float32, both commands say so.
  const bool float_products = !int8_products_exact();
  EXPECT_EQ(converted.output.find("int8 kernels are not exact") != std::string::npos, float_products) << converted.output;
  EXPECT_NE(info.output.find(float_products ? "\"int8_products_here\": \"float32" : "\"int8_products_here\": \"int8\""),
            std::string::npos)
      << info.output;
  const RunResult plain = run_cli("info --model " + tiny_model_dir());
  EXPECT_NE(plain.output.find("\"int8_check\": null"), std::string::npos) << plain.output;
  EXPECT_EQ(run_cli("convert --model " + tiny_model_dir() + " --output " + out + " --min-cosine 2").exit_code, 2);
  const RunResult refused = run_cli("convert --model " + outlier_folder("tiny", "unbalanced") + " --output " +
                                    scratch_folder("cli_refused"));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("Nothing was written"), std::string::npos) << refused.output;
}

}  // namespace
}  // namespace xclip::test
