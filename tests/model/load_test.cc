// Loading model folders: layouts, dtypes, shards, and every kind of mismatch between
// config.json and the checkpoint reported with the tensor names.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "support/compare.h"
#include "support/model_fixture.h"

namespace xclip::test {
namespace {

NamedTensors run_tiny(const std::string& dir) {
  Session session(Model::load(dir));
  const TinyInputs in = tiny_inputs();
  return session.forward({in.input_ids, in.attention_mask, in.pixel_values});
}

std::uint16_t to_bf16(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits += 0x7fff + ((bits >> 16) & 1);  // round to nearest even
  return static_cast<std::uint16_t>(bits >> 16);
}

std::uint16_t to_f16(float f) {
  // Normal-range conversion with round-to-nearest; tiny values flush to zero (weights here
  // are far from the f16 limits).
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000);
  const int exponent = static_cast<int>((bits >> 23) & 0xff) - 127 + 15;
  if (exponent <= 0) return sign;
  if (exponent >= 31) return sign | 0x7c00;
  std::uint32_t mantissa = bits & 0x7fffff;
  std::uint16_t h = static_cast<std::uint16_t>(sign | (exponent << 10) | (mantissa >> 13));
  if ((mantissa & 0x1fff) > 0x1000 || ((mantissa & 0x1fff) == 0x1000 && (h & 1))) ++h;
  return h;
}

Tensor convert(const Tensor& t, DType dtype) {
  Tensor out = Tensor::empty(dtype, t.shape());
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const float v = t.data<float>()[i];
    out.mutable_data<std::uint16_t>()[i] = dtype == DType::BF16 ? to_bf16(v) : to_f16(v);
  }
  return out;
}

TEST(LoadTest, LoadsTinyAndReportsConfig) {
  auto model = Model::load(tiny_model_dir());
  EXPECT_EQ(model->config().vision_config.hidden_size, 48);
  EXPECT_EQ(model->config().vision_config.image_size, 32);
  EXPECT_EQ(model->config().text_config.hidden_size, 32);
  EXPECT_GE(model->num_threads(), 1);
}

TEST(LoadTest, MissingUnexpectedAndMisshapedTensorsAreAllListed) {
  const std::string dir = copy_tiny_folder("mismatch");
  TensorList tensors;
  for (auto& [name, t] : tiny_tensors()) {
    if (name == "vision_model.encoder.layers.1.message_fc.weight") continue;  // missing
    if (name == "text_projection.weight") {                                   // mis-shaped
      tensors.emplace_back(name, Tensor::zeros(DType::F32, {32, 16}));
      continue;
    }
    tensors.emplace_back(name, t);
  }
  tensors.emplace_back("vision_model.encoder.layers.7.mlp.fc1.weight", Tensor::zeros(DType::F32, {2}));  // unexpected
  tensors.emplace_back("text_model.embeddings.position_ids", Tensor::zeros(DType::I64, {1, 77}));  // ignorable buffer
  io::write_safetensors(dir + "/model.safetensors", tensors);
  const std::string msg = expect_load_error(dir);
  EXPECT_NE(msg.find("3 problems"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing tensor vision_model.encoder.layers.1.message_fc.weight [48, 48]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("text_projection.weight: expected shape [32, 32], got [32, 16]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected tensor vision_model.encoder.layers.7.mlp.fc1.weight"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("position_ids"), std::string::npos) << msg;
}

TEST(LoadTest, ConfigThatDoesNotFitTheWeights) {
  const std::string dir = copy_tiny_folder("wrong_config");
  std::filesystem::copy_file(tiny_model_dir() + "/model.safetensors", dir + "/model.safetensors");
  nlohmann::json config = nlohmann::json::parse(std::ifstream(dir + "/config.json"));
  config["vision_config"]["num_hidden_layers"] = 3;
  std::ofstream(dir + "/config.json") << config.dump();
  const std::string msg = expect_load_error(dir);
  EXPECT_NE(msg.find("missing tensor vision_model.encoder.layers.2."), std::string::npos) << msg;
}

TEST(LoadTest, IntegerWeightsAreRejected) {
  const std::string dir = copy_tiny_folder("int_weights");
  TensorList tensors = tiny_tensors();
  for (auto& [name, t] : tensors)
    if (name == "logit_scale") t = Tensor::zeros(DType::I32, {});
  io::write_safetensors(dir + "/model.safetensors", tensors);
  EXPECT_NE(expect_load_error(dir).find("logit_scale: dtype I32 is not a floating-point weight type"), std::string::npos);
}

// The half-precision values widened back to F32 (a reference the conversion must match).
Tensor widen(const Tensor& half) {
  Tensor out = Tensor::empty(DType::F32, half.shape());
  for (std::int64_t i = 0; i < half.numel(); ++i) {
    const std::uint16_t h = half.data<std::uint16_t>()[i];
    float f;
    if (half.dtype() == DType::BF16) {
      const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
      std::memcpy(&f, &bits, 4);
    } else {
      const int exponent = (h >> 10) & 0x1f;
      const float mantissa = static_cast<float>(h & 0x3ff);
      f = exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(1.0f + mantissa / 1024.0f, exponent - 15);
      if (h & 0x8000) f = -f;
    }
    out.mutable_data<float>()[i] = f;
  }
  return out;
}

TEST(LoadTest, HalfPrecisionCheckpointsAreConvertedExactlyAtLoad) {
  for (DType dtype : {DType::F16, DType::BF16}) {
    const std::string half_dir = copy_tiny_folder(std::string("half_") + dtype_name(dtype));
    const std::string wide_dir = copy_tiny_folder(std::string("wide_") + dtype_name(dtype));
    TensorList half, wide;
    for (auto& [name, t] : tiny_tensors()) {
      half.emplace_back(name, convert(t, dtype));
      wide.emplace_back(name, widen(half.back().second));
    }
    io::write_safetensors(half_dir + "/model.safetensors", half);
    io::write_safetensors(wide_dir + "/model.safetensors", wide);
    const NamedTensors a = run_tiny(half_dir), b = run_tiny(wide_dir);
    for (const char* name : {"logits_per_video", "text_embeds", "video_embeds"}) {
      const CompareResult r = compare_f32(name, a.at(name), b.at(name), {0.0, 0.0, false});
      EXPECT_TRUE(r.ok) << dtype_name(dtype) << ": " << r.message;
    }
  }
}

TEST(LoadTest, ShardedCheckpointGivesIdenticalResults) {
  const std::string dir = copy_tiny_folder("sharded");
  TensorList all = tiny_tensors(), first, second;
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  for (std::size_t i = 0; i < all.size(); ++i) {
    const bool in_first = i < all.size() / 2;
    (in_first ? first : second).push_back(all[i]);
    index["weight_map"][all[i].first] = in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  io::write_safetensors(dir + "/model-00001-of-00002.safetensors", first);
  io::write_safetensors(dir + "/model-00002-of-00002.safetensors", second);
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump(2);
  const NamedTensors a = run_tiny(tiny_model_dir()), b = run_tiny(dir);
  const CompareResult r = compare_f32("logits_per_video", b.at("logits_per_video"), a.at("logits_per_video"), {0, 0, false});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(LoadTest, HostileShardIndex) {
  const std::string dir = copy_tiny_folder("bad_index");
  std::ofstream(dir + "/model.safetensors.index.json") << R"({"weight_map": {"logit_scale": "../../etc/passwd"}})";
  EXPECT_NE(expect_load_error(dir).find("is not a plain file name"), std::string::npos);
  std::ofstream(dir + "/model.safetensors.index.json", std::ios::trunc) << R"({"weight_map": [1]})";
  EXPECT_NE(expect_load_error(dir).find("weight_map"), std::string::npos);
}

TEST(LoadTest, TruncatedCheckpoint) {
  const std::string dir = copy_tiny_folder("truncated");
  std::filesystem::copy_file(tiny_model_dir() + "/model.safetensors", dir + "/model.safetensors");
  std::filesystem::resize_file(dir + "/model.safetensors", std::filesystem::file_size(dir + "/model.safetensors") - 100);
  EXPECT_NE(expect_load_error(dir).find("past the end of the data section"), std::string::npos);
}

TEST(LoadTest, MissingFilesAndFolders) {
  EXPECT_THROW(Model::load("/nonexistent/model"), IoError);
  EXPECT_THROW(Model::load(tiny_model_dir() + "/config.json"), IoError);
  const std::string dir = copy_tiny_folder("no_weights");
  EXPECT_NE(expect_load_error(dir).find("no model.safetensors, pytorch_model.bin"), std::string::npos);
  std::ofstream(dir + "/pytorch_model.bin") << "x";
  EXPECT_NE(expect_load_error(dir).find("too short for a PyTorch zip checkpoint"), std::string::npos);
  std::filesystem::remove(dir + "/config.json");
  EXPECT_NE(expect_load_error(dir).find("config.json"), std::string::npos);
}

TEST(LoadTest, MalformedConfigJson) {
  const std::string dir = copy_tiny_folder("bad_config");
  std::filesystem::copy_file(tiny_model_dir() + "/model.safetensors", dir + "/model.safetensors");
  std::ofstream(dir + "/config.json", std::ios::trunc) << "{\"projection_dim\": 32,";
  const std::string msg = expect_load_error(dir);
  EXPECT_NE(msg.find("config.json: not valid JSON"), std::string::npos) << msg;
}

}  // namespace
}  // namespace xclip::test
