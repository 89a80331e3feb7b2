// VideoMAEImageProcessor / XCLIPProcessor against transformers: every case of
// golden_processor.safetensors with the default (torchvision) backend and of
// golden_processor_alt.safetensors with the PIL backend. Criterion (from the processor
// issue): at least 99.9 % of values within 1e-6 and none further than one 8-bit level after
// normalisation (0.0176).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "support/golden.h"
#include "support/test_paths.h"
#include "xclip/error.h"
#include "xclip/processor.h"

namespace xclip::test {
namespace {

using json = nlohmann::json;

constexpr double kClose = 1e-6;
constexpr double kOneLevel = 0.0176;
constexpr double kMinCloseFraction = 0.999;

// The X-CLIP 224 configuration, as the synthesised base-patch32 folder carries it.
ImageProcessorConfig base_config() { return ImageProcessorConfig::from_file(models_dir() + "/base-patch32/preprocessor_config.json"); }

ImageProcessorConfig with_kwargs(ImageProcessorConfig c, const json& kwargs) {
  if (kwargs.contains("size")) {
    const json& s = kwargs["size"];
    if (s.is_array()) {
      c.shortest_edge.reset();
      c.height = s[0].get<int>();
      c.width = s[1].get<int>();
    } else if (s.contains("shortest_edge")) {
      c.shortest_edge = s["shortest_edge"].get<int>();
    } else {
      c.shortest_edge.reset();
      c.height = s["height"].get<int>();
      c.width = s["width"].get<int>();
    }
  }
  if (kwargs.contains("crop_size")) {
    const json& s = kwargs["crop_size"];
    c.crop_height = s.is_array() ? s[0].get<int>() : s["height"].get<int>();
    c.crop_width = s.is_array() ? s[1].get<int>() : s["width"].get<int>();
  }
  if (kwargs.contains("do_center_crop")) c.do_center_crop = kwargs["do_center_crop"].get<bool>();
  return c;
}

Tensor first_frames(const Tensor& frames, std::int64_t count) {
  std::vector<std::int64_t> shape = frames.shape();
  shape[0] = count;
  return Tensor::from_values<std::uint8_t>(DType::U8, shape, frames.data<std::uint8_t>());
}

void expect_pixels_match(const std::string& what, const Tensor& ours, const Tensor& ref) {
  ASSERT_EQ(ours.numel(), ref.numel()) << what << ": ours " << ours.describe() << ", reference " << ref.describe();
  std::int64_t close = 0;
  double worst = 0.0;
  std::int64_t worst_at = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) {
    const double d = std::fabs(static_cast<double>(ours.data<float>()[i]) - ref.data<float>()[i]);
    close += d <= kClose;
    if (d > worst) {
      worst = d;
      worst_at = i;
    }
  }
  const double fraction = static_cast<double>(close) / static_cast<double>(ref.numel());
  EXPECT_GE(fraction, kMinCloseFraction) << what << ": only " << fraction * 100 << " % of values within 1e-6";
  EXPECT_LE(worst, kOneLevel) << what << ": max |diff| " << worst << " at " << worst_at << " (ours "
                              << ours.data<float>()[worst_at] << ", reference " << ref.data<float>()[worst_at] << ")";
  ::testing::Test::RecordProperty(what + "_close_fraction", std::to_string(fraction));
}

class ProcessorGoldenTest : public ::testing::TestWithParam<ResizeBackend> {};

TEST_P(ProcessorGoldenTest, EveryCaseMatches) {
  const ResizeBackend backend = GetParam();
  const bool pil = backend == ResizeBackend::Pil;
  int cases = 0;
  for (const json& c : golden_index()["cases"]) {
    const std::string id = c["id"];
    if (c["kind"] != "processor" || id == "proc/combined_call") continue;
    const bool is_alt = c["file"] == "golden_processor_alt.safetensors";
    if (is_alt != pil) continue;
    // Frames: proc/<HxW>/frames; kwargs of variants live in options.call_kwargs.
    const std::string frames_key = c["inputs"]["frames"]["key"];
    Tensor frames = golden_file("golden_processor.safetensors").get(frames_key);
    const json& options = c["options"];
    const json kwargs = options.value("call_kwargs", json::object());
    const auto& out = *c["outputs"].begin();
    const Tensor ref = golden_file(c["file"]).get(out["key"].get<std::string>());
    if (ref.dim(1) == 1) frames = first_frames(frames, 1);  // variants run on the first frame
    const VideoProcessor processor(with_kwargs(base_config(), kwargs), backend);
    expect_pixels_match(id, processor.preprocess({frames}), ref);
    ++cases;
  }
  EXPECT_EQ(cases, pil ? 9 : 9) << "golden processor cases found";
}

INSTANTIATE_TEST_SUITE_P(Backends, ProcessorGoldenTest, ::testing::Values(ResizeBackend::Torchvision, ResizeBackend::Pil),
                         [](const auto& info) { return info.param == ResizeBackend::Pil ? "pil" : "torchvision"; });

TEST(ProcessorTest, CombinedCallMatches) {
  const XCLIPProcessor processor(Tokenizer::from_folder(models_dir() + "/base-patch32"), VideoProcessor(base_config()));
  const io::SafetensorsFile& f = golden_file("golden_processor.safetensors");
  TokenizeOptions options;
  const auto texts = golden_index()["text_lists"]["basic"].get<std::vector<std::string>>();
  const ProcessorOutput out = processor(texts, {f.get("proc/240x320/frames")}, options);
  const Tensor ids = f.get("proc/combined_call/input_ids");
  ASSERT_EQ(out.input_ids.shape(), ids.shape());
  for (std::int64_t i = 0; i < ids.numel(); ++i) EXPECT_EQ(out.input_ids.data<std::int64_t>()[i], ids.data<std::int64_t>()[i]);
  expect_pixels_match("combined_call", out.pixel_values, f.get("proc/240x320/pixel_values/default"));
}

TEST(ProcessorTest, TinyPresetInputsMatch) {
  // pixel_values of the tiny goldens: two videos of different sizes in one call, and the
  // interpolate_pos_encoding inputs made with other sizes.
  const io::SafetensorsFile& g = golden_file("golden_tiny.safetensors");
  const VideoProcessor processor = VideoProcessor::from_folder(models_dir() + "/tiny");
  const Tensor a = g.get("tiny/inputs/frames/tinysrc_60x80"), b = g.get("tiny/inputs/frames/tinysrc_97x131");
  expect_pixels_match("tiny pixel_values_2v", processor.preprocess({a, b}), g.get("tiny/inputs/pixel_values_2v"));
  ImageProcessorConfig square = processor.config();
  square.shortest_edge = 48;
  square.crop_height = square.crop_width = 48;
  expect_pixels_match("tiny interp square", VideoProcessor(square).preprocess({a}),
                      g.get("tiny/inputs/pixel_values_interp_square"));
  ImageProcessorConfig rect = processor.config();
  rect.shortest_edge.reset();
  rect.height = 40;
  rect.width = 56;
  rect.do_center_crop = false;
  expect_pixels_match("tiny interp rect", VideoProcessor(rect).preprocess({a}), g.get("tiny/inputs/pixel_values_interp_rect"));
}

TEST(ProcessorTest, ConfigLayouts) {
  const ImageProcessorConfig flat = ImageProcessorConfig::from_json(R"({"size": 224, "crop_size": 224})", "p.json");
  EXPECT_EQ(*flat.shortest_edge, 224);
  EXPECT_EQ(flat.crop_height, 224);
  EXPECT_DOUBLE_EQ(flat.image_mean[0], 0.5);  // class default when absent
  const ImageProcessorConfig nested = ImageProcessorConfig::from_file(golden_dir() + "/hf_saved/processor__processor_config.json");
  EXPECT_EQ(*nested.shortest_edge, 32);
  EXPECT_EQ(nested.crop_width, 32);
  EXPECT_NEAR(nested.image_mean[2], 0.406, 1e-12);
  const ImageProcessorConfig hw = ImageProcessorConfig::from_json(R"({"size": {"height": 20, "width": 30}})", "p.json");
  EXPECT_FALSE(hw.shortest_edge.has_value());
  EXPECT_EQ(*hw.width, 30);
}

TEST(ProcessorTest, BadConfigsAndInputs) {
  EXPECT_THROW(ImageProcessorConfig::from_json("{", "p.json"), FormatError);
  EXPECT_THROW(ImageProcessorConfig::from_json(R"({"size": -3})", "p.json"), FormatError);
  EXPECT_THROW(ImageProcessorConfig::from_json(R"({"size": {"longest_edge": 3}})", "p.json"), FormatError);
  EXPECT_THROW(ImageProcessorConfig::from_json(R"({"resample": 5})", "p.json"), UnsupportedError);
  EXPECT_THROW(ImageProcessorConfig::from_json(R"({"image_std": [1, 0, 1]})", "p.json"), FormatError);
  EXPECT_THROW(ImageProcessorConfig::from_json(R"({"image_processor_type": "CLIPImageProcessor"})", "p.json"), UnsupportedError);
  const VideoProcessor p;
  EXPECT_THROW(p.preprocess_video(Tensor::zeros(DType::U8, {2, 0, 5, 3})), InvalidArgument);
  EXPECT_THROW(p.preprocess_video(Tensor::zeros(DType::U8, {0, 5, 5, 3})), InvalidArgument);
  EXPECT_THROW(p.preprocess_video(Tensor::zeros(DType::U8, {1, 5, 5, 2})), InvalidArgument);
  EXPECT_THROW(p.preprocess_video(Tensor::zeros(DType::F32, {1, 5, 5, 3})), InvalidArgument);
  EXPECT_THROW(p.preprocess_video(Tensor::zeros(DType::U8, {5, 5, 3})), InvalidArgument);
  EXPECT_THROW(p.preprocess({}), InvalidArgument);
  EXPECT_THROW(p.preprocess({Tensor::zeros(DType::U8, {2, 8, 8, 3}), Tensor::zeros(DType::U8, {3, 8, 8, 3})}), InvalidArgument);
  const XCLIPProcessor processor(Tokenizer::from_folder(models_dir() + "/tiny"), VideoProcessor());
  EXPECT_THROW(processor({}, {}), InvalidArgument);
}

TEST(ProcessorTest, BicubicAndNearestResampling) {
  // No golden uses them (X-CLIP configs are bilinear): check their defining properties.
  Tensor frame = Tensor::empty(DType::U8, {1, 64, 96, 3});
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 96; ++x)
      for (int c = 0; c < 3; ++c) frame.mutable_data<std::uint8_t>()[(y * 96 + x) * 3 + c] = static_cast<std::uint8_t>((x * 7 + y * 3 + c * 50) % 256);
  for (ResizeBackend backend : {ResizeBackend::Torchvision, ResizeBackend::Pil}) {
    ImageProcessorConfig nearest;
    nearest.shortest_edge.reset();
    nearest.height = 32;
    nearest.width = 48;
    nearest.do_center_crop = false;
    nearest.do_normalize = false;
    nearest.do_rescale = false;
    nearest.resample = Resample::Nearest;
    // Halving: torch takes source 2i (floor(i·2)), Pillow 2i+1 (floor((i+0.5)·2)).
    const Tensor n = VideoProcessor(nearest, backend).preprocess_video(frame);
    const int offset = backend == ResizeBackend::Torchvision ? 0 : 1;
    for (int y = 0; y < 32; y += 5)
      for (int x = 0; x < 48; x += 7)
        for (int c = 0; c < 3; ++c)
          EXPECT_EQ(n.data<float>()[(c * 32 + y) * 48 + x],
                    frame.data<std::uint8_t>()[((2 * y + offset) * 96 + 2 * x + offset) * 3 + c]);
    // Bicubic of a constant image is that constant (weights sum to one after rounding).
    ImageProcessorConfig cubic = nearest;
    cubic.resample = Resample::Bicubic;
    Tensor flat = Tensor::empty(DType::U8, {1, 50, 70, 3});
    std::fill(flat.mutable_data<std::uint8_t>(), flat.mutable_data<std::uint8_t>() + flat.numel(), 173);
    const Tensor b = VideoProcessor(cubic, backend).preprocess_video(flat);
    for (std::int64_t i = 0; i < b.numel(); ++i) ASSERT_EQ(b.data<float>()[i], 173.0f) << i;
  }
}

TEST(ProcessorTest, GrayAndRgbaFramesBecomeRgb) {
  const VideoProcessor p;
  Tensor gray = Tensor::zeros(DType::U8, {1, 40, 50, 1}), rgb = Tensor::zeros(DType::U8, {1, 40, 50, 3}),
         rgba = Tensor::zeros(DType::U8, {1, 40, 50, 4});
  for (int i = 0; i < 40 * 50; ++i) {
    const auto v = static_cast<std::uint8_t>((i * 37) % 256);
    gray.mutable_data<std::uint8_t>()[i] = v;
    for (int k = 0; k < 3; ++k) rgb.mutable_data<std::uint8_t>()[i * 3 + k] = v;
    for (int k = 0; k < 4; ++k) rgba.mutable_data<std::uint8_t>()[i * 4 + k] = k == 3 ? 7 : v;
  }
  const Tensor a = p.preprocess_video(gray), b = p.preprocess_video(rgb), c = p.preprocess_video(rgba);
  ASSERT_EQ(a.shape(), (std::vector<std::int64_t>{1, 3, 224, 224}));
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]);
    ASSERT_EQ(c.data<float>()[i], b.data<float>()[i]);
  }
}

}  // namespace
}  // namespace xclip::test
