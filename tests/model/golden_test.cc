// Every model case of ../shared/golden (computed by Hugging Face transformers on synthetic
// checkpoints) against our forward pass: outputs, hidden states, attentions, loss and the
// intermediate values captured by forward hooks inside the submodules.
//
// Tolerances (float32, from the forward-pass issue):
//   logits, embeddings, features: max |diff| <= 2e-5
//   loss: <= 1e-5 relative
//   attention weights: max |diff| <= 1e-5
//   everything else: |diff| <= 1e-4 * max(1, max |reference|)
#include "support/golden.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "io/safetensors.h"
#include "ops/bf16_linear.h"
#include "ops/cpu/kernels.h"
#include "support/compare.h"
#include "support/test_paths.h"
#include "xclip/xclip.h"

namespace xclip::test {
namespace {

using json = nlohmann::json;

std::string param_name(const std::string& preset, const std::string& case_id) {
  std::string name = preset + "__" + case_id.substr(case_id.find('/') + 1);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  return name;
}

struct CaseRef {
  std::string id;
  std::string name;
};

// Model cases from index.json; a missing index yields one case that fails, loudly.
std::vector<CaseRef> model_cases() {
  std::vector<CaseRef> out;
  try {
    for (const json& c : golden_index()["cases"])
      if (c["kind"] == "model") out.push_back({c["id"], param_name(c["preset"], c["id"])});
  } catch (const std::exception& e) {
    out.push_back({std::string("missing: ") + e.what(), "golden_index_missing"});
  }
  return out;
}

const json& find_case(const std::string& id) {
  for (const json& c : golden_index()["cases"])
    if (c["id"] == id) return c;
  throw std::runtime_error("no golden case " + id);
}

Tensor load_ref(const json& entry, const std::string& file) { return golden_file(file).get(entry["key"]); }

// Video i of a T-frame preset = pool[(arange(T) + 8 i) % 16], reversed along the width for odd i.
Tensor videos_from_pool(const Tensor& pool, std::int64_t videos, std::int64_t frames) {
  const std::int64_t c = pool.dim(1), h = pool.dim(2), w = pool.dim(3), frame = c * h * w;
  Tensor out = Tensor::empty(DType::F32, {videos, frames, c, h, w});
  for (std::int64_t v = 0; v < videos; ++v)
    for (std::int64_t t = 0; t < frames; ++t) {
      const float* src = pool.data<float>() + ((t + 8 * v) % pool.dim(0)) * frame;
      float* dst = out.mutable_data<float>() + (v * frames + t) * frame;
      for (std::int64_t row = 0; row < c * h; ++row)
        for (std::int64_t x = 0; x < w; ++x) dst[row * w + x] = src[row * w + (v % 2 ? w - 1 - x : x)];
    }
  return out;
}

// The first `count` videos of a batch.
Tensor first_videos(const Tensor& pv, std::int64_t count) {
  std::vector<std::int64_t> shape = pv.shape();
  shape[0] = count;
  return Tensor::from_values<float>(DType::F32, shape, pv.data<float>());
}

Tolerance tolerance_for(const std::string& name) {
  static const std::regex strict(
      "^(logits_per_video|logits_per_text|text_embeds|video_embeds|text_features|video_features)$");
  if (std::regex_match(name, strict)) return {2e-5, 0.0, false};
  if (name == "loss") return {0.0, 1e-5, false};
  const bool attention_weights =
      name.find("attentions/") != std::string::npos || (name.size() > 8 && name.substr(name.size() - 8) == "/weights");
  if (attention_weights) return {1e-5, 0.0, false};
  return {0.0, 1e-4, true};
}

void run_case(const CaseRef& ref) {
  ASSERT_NE(ref.name, "golden_index_missing") << ref.id;
  const json& c = find_case(ref.id);
  const std::string preset = c["preset"], file = c["file"];
  const json& opts = c["options"];
  const std::string model_dir = models_dir() + "/" + preset;

  std::shared_ptr<const Model> model;
  ASSERT_NO_THROW(model = Model::load(model_dir)) << "synthesised checkpoint missing or broken: " << model_dir;
  Session session(model);
  const XCLIPConfig& config = model->config();

  // Inputs, including the derived ones (pool slices, first video of a batch).
  const json& inputs = c["inputs"];
  Tensor input_ids, attention_mask, pixel_values;
  if (inputs.contains("input_ids")) input_ids = load_ref(inputs["input_ids"], file);
  if (inputs.contains("attention_mask")) attention_mask = load_ref(inputs["attention_mask"], file);
  if (inputs.contains("pixel_values")) pixel_values = load_ref(inputs["pixel_values"], file);
  const std::int64_t videos = opts.value("videos", 0);
  if (inputs.contains("pixel_pool"))
    pixel_values = videos_from_pool(load_ref(inputs["pixel_pool"], file), videos, config.vision_config.num_frames);
  if (inputs.contains("pixel_values_2v")) {
    ASSERT_EQ(opts.value("video", ""), "pixel_values_2v[0:1]");
    pixel_values = first_videos(load_ref(inputs["pixel_values_2v"], file), videos);
  }

  std::map<std::string, Tensor> hooks;
  ForwardOptions options;
  options.output_hidden_states = opts.value("output_hidden_states", false);
  options.output_attentions = opts.value("output_attentions", false);
  options.return_loss = opts.value("return_loss", false);
  options.interpolate_pos_encoding = opts.value("interpolate_pos_encoding", false);
  options.tap = [&](const std::string& module, const std::string& slot, const Tensor& value) {
    hooks["hooks/" + module + "/" + slot] = value;
  };

  NamedTensors outputs;
  const std::string kind = ref.id.substr(ref.id.find('/') + 1);
  if (kind == "get_text_features") {
    outputs.add("text_features", session.get_text_features(input_ids, attention_mask));
  } else if (kind == "get_video_features") {
    outputs.add("video_features", session.get_video_features(pixel_values));
  } else {
    ForwardInputs in{input_ids, attention_mask, pixel_values};
    outputs = session.forward(in, options);
  }

  int compared = 0;
  for (auto it = c["outputs"].begin(); it != c["outputs"].end(); ++it) {
    const std::string name = it.key();
    const Tensor expected = load_ref(it.value(), file);
    Tensor ours;
    if (name.rfind("hooks/", 0) == 0) {
      auto h = hooks.find(name);
      ASSERT_NE(h, hooks.end()) << ref.id << ": no tap produced " << name;
      ours = h->second;
    } else if (name == "vision_model_output/last_hidden_state_frame0") {
      const Tensor& all = outputs.at("vision_model_output/last_hidden_state");
      ours = Tensor::from_values<float>(DType::F32, {all.dim(1), all.dim(2)}, all.data<float>());
    } else {
      ASSERT_TRUE(outputs.contains(name)) << ref.id << ": forward did not produce " << name;
      ours = outputs.at(name);
    }
    EXPECT_EQ(ours.numel(), expected.numel())
        << ref.id << " " << name << ": ours " << ours.describe() << ", reference " << expected.describe();
    const CompareResult r = compare_f32(name, ours, expected, tolerance_for(name));
    EXPECT_TRUE(r.ok) << ref.id << ": " << r.message;
    ++compared;
  }
  EXPECT_GT(compared, 0) << ref.id << " has no outputs to compare";
  ::testing::Test::RecordProperty("compared_tensors_" + ref.name, compared);
}

class GoldenModelTest : public ::testing::TestWithParam<CaseRef> {};

TEST_P(GoldenModelTest, MatchesTransformers) { run_case(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Golden, GoldenModelTest, ::testing::ValuesIn(model_cases()),
                         [](const ::testing::TestParamInfo<CaseRef>& info) { return info.param.name; });

// int8 weights (LoadOptions::weights) keep the embeddings of every base preset within cosine
// 0.999 of the float32 goldens (the reduced-precision criterion of the speed issue).
double cosine(const float* a, const float* b, std::int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// Video and text embeddings of the fwd_2v3t case with `weights`, each row within cosine
// 0.999 of the float32 goldens.
void expect_embeddings_within_cosine_0999(const std::string& preset, WeightType weights) {
  const json& c = find_case(preset + "/fwd_2v3t");
  const std::string file = c["file"];
  LoadOptions options;
  options.weights = weights;
  auto model = Model::load(models_dir() + "/" + preset, options);
  ASSERT_EQ(model->weights(), weights);
  Session session(model);
  const Tensor pixels =
      videos_from_pool(load_ref(c["inputs"]["pixel_pool"], file), 2, model->config().vision_config.num_frames);
  const NamedTensors out = session.forward(
      {load_ref(c["inputs"]["input_ids"], file), load_ref(c["inputs"]["attention_mask"], file), pixels});
  for (const char* name : {"video_embeds", "text_embeds"}) {
    const Tensor& ours = out.at(name);
    const Tensor ref = load_ref(c["outputs"][name], file);
    ASSERT_EQ(ours.numel(), ref.numel());
    const std::int64_t d = ours.dim(-1);
    for (std::int64_t row = 0; row < ours.numel() / d; ++row) {
      const double cos = cosine(ours.data<float>() + row * d, ref.data<float>() + row * d, d);
      EXPECT_GE(cos, 0.999) << preset << " " << name << " row " << row;
      ::testing::Test::RecordProperty(preset + "_" + name + "_" + std::to_string(row), std::to_string(cos));
    }
  }
}

class GoldenInt8Test : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenInt8Test, EmbeddingsWithinCosine0999) {
  expect_embeddings_within_cosine_0999(GetParam(), WeightType::Int8);
}

// bf16 needs AVX512-BF16 (the development and CI machines have it); elsewhere loading with
// Bf16 must refuse, which is what runs instead.
class GoldenBf16Test : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenBf16Test, EmbeddingsWithinCosine0999) {
  if (!ops::bf16_supported()) {
    LoadOptions options;
    options.weights = WeightType::Bf16;
    EXPECT_THROW(Model::load(models_dir() + "/" + GetParam(), options), UnsupportedError);
    return;
  }
  expect_embeddings_within_cosine_0999(GetParam(), WeightType::Bf16);
}

// gtest names cannot hold '-': base-patch32 -> base_patch32.
std::string preset_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& ch : n)
    if (ch == '-') ch = '_';
  return n;
}

const auto kBasePresets = ::testing::Values("base-patch32", "base-patch32-16f", "base-patch16", "large-patch14");
INSTANTIATE_TEST_SUITE_P(BasePresets, GoldenInt8Test, kBasePresets, preset_test_name);
INSTANTIATE_TEST_SUITE_P(BasePresets, GoldenBf16Test, kBasePresets, preset_test_name);

// A search index scores texts against stored per-window features (get_video_search_features)
// instead of the frames: that score must be forward()'s logits_per_video, which transformers
// computed for the fwd_2v3t case.
class GoldenSearchScoreTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenSearchScoreTest, StoredVideoFeaturesGiveTransformersLogits) {
  const std::string preset = GetParam();
  const json& c = find_case(preset + "/fwd_2v3t");
  const std::string file = c["file"];
  auto model = Model::load(models_dir() + "/" + preset);
  Session session(model);
  const json& inputs = c["inputs"];
  const Tensor pixels = inputs.contains("pixel_pool")
                            ? videos_from_pool(load_ref(inputs["pixel_pool"], file), 2,
                                               model->config().vision_config.num_frames)
                            : load_ref(inputs["pixel_values"], file);
  const VideoSearchFeatures stored = session.get_video_search_features(pixels);
  ASSERT_EQ(stored.prompt_keys_values.dim(0), model->config().prompt_layers);
  ASSERT_EQ(stored.prompt_keys_values.dim(1), 2);
  const Tensor text = session.get_text_features(load_ref(inputs["input_ids"], file),
                                                load_ref(inputs["attention_mask"], file));
  const Tensor logits = session.logits_from_video_features(stored, text);
  const Tensor expected = load_ref(c["outputs"]["logits_per_video"], file);
  const CompareResult r = compare_f32("logits_per_video", logits, expected, tolerance_for("logits_per_video"));
  EXPECT_TRUE(r.ok) << preset << ": " << r.message;
}

INSTANTIATE_TEST_SUITE_P(Presets, GoldenSearchScoreTest,
                         ::testing::Values("tiny", "tiny-8f", "base-patch32", "base-patch16"), preset_test_name);

// Every kernel variant this CPU supports runs the tiny presets' cases too (the default run
// above uses the best one). Variants the CPU lacks are listed, not run.
TEST(GoldenKernelVariants, TinyPresetsPassWithEveryVariant) {
  const std::vector<std::string> isas = cpu::supported_isas();
  ASSERT_FALSE(isas.empty());
  const std::string original = cpu::kernels().isa;
  for (const std::string& isa : isas) {
    cpu::use_isa(isa);
    for (const CaseRef& c : model_cases()) {
      if (c.name.rfind("tiny", 0) != 0) continue;
      SCOPED_TRACE(isa + " " + c.id);
      run_case(c);
    }
  }
  cpu::use_isa(original);
  RecordProperty("variants", ::testing::PrintToString(isas));
}

}  // namespace
}  // namespace xclip::test
