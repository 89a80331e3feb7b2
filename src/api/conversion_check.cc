#include "api/conversion_check.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/json.h"
#include "ops/outlier_channels.h"
#include "ops/quantized_linear.h"
#include "xclip/model.h"
#include "xclip/tokenizer.h"

namespace xclip {

namespace {

constexpr int kProbeVideos = 8;
// Prompts that float32 scores within this many standard deviations of the row's 400 logits
// of its best one tie with it: swapping them is not a changed answer. (Random-weight
// checkpoints score prompts almost alike; a checkpoint whose int8 errors swamp the spread
// between prompts fails.)
constexpr double kTieDeviations = 0.25;

// 20 actions x 20 objects: prompts of the kind zero-shot users write.
std::vector<std::string> probe_prompts() {
  const char* verbs[] = {"playing", "eating", "riding", "throwing", "cutting", "washing", "climbing", "juggling",
                         "painting", "carrying", "opening", "folding", "kicking", "pushing", "cleaning", "repairing",
                         "dancing with", "jumping over", "looking at", "talking about"};
  const char* nouns[] = {"a ball", "spaghetti", "a horse", "a frisbee", "vegetables", "a car", "a rock wall",
                         "oranges", "a fence", "boxes", "a door", "laundry", "a bottle", "a cart", "the kitchen",
                         "a bicycle", "a partner", "a rope", "the sky", "the weather"};
  std::vector<std::string> out;
  for (const char* v : verbs)
    for (const char* n : nouns) out.push_back(std::string("a video of a person ") + v + " " + n + ".");
  return out;
}

// Prompt ids from the folder's tokenizer; without one, id sequences ending in the largest
// id (where the text tower pools).
std::pair<Tensor, Tensor> probe_text(const std::string& folder, const XCLIPTextConfig& c) {
  const std::vector<std::string> prompts = probe_prompts();
  try {
    TokenizeOptions tok;
    tok.padding = Padding::Longest;
    tok.truncation = true;
    tok.max_length = c.max_position_embeddings;
    return Tokenizer::from_folder(folder).encode_to_tensors(prompts, tok);
  } catch (const Error&) {
    const std::int64_t n = static_cast<std::int64_t>(prompts.size()), length = std::min(6, c.max_position_embeddings);
    Tensor ids = Tensor::empty(DType::I64, {n, length});
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < length; ++j)
        ids.mutable_data<std::int64_t>()[i * length + j] =
            j == length - 1 ? c.vocab_size - 1 : (i * 7919 + j * 104729) % (c.vocab_size - 1);
    return {ids, Tensor()};
  }
}

// Synthetic videos in the processor's normalised range: moving gradients, stripes and
// blobs of different colours and speeds, one pattern per video.
Tensor probe_videos(const XCLIPVisionConfig& c) {
  const std::int64_t t = c.num_frames, s = c.image_size;
  Tensor pixels = Tensor::empty(DType::F32, {kProbeVideos, t, 3, s, s});
  float* p = pixels.mutable_data<float>();
  for (std::int64_t v = 0; v < kProbeVideos; ++v)
    for (std::int64_t f = 0; f < t; ++f)
      for (std::int64_t ch = 0; ch < 3; ++ch)
        for (std::int64_t y = 0; y < s; ++y)
          for (std::int64_t x = 0; x < s; ++x) {
            const double u = static_cast<double>(x) / s, w = static_cast<double>(y) / s, time = 0.1 * f;
            const double phase = 0.7 * v + 1.3 * ch;
            double value = std::sin(6.283 * ((v + 1) * u + 0.5 * w + time) + phase);
            if (v % 2) value *= std::cos(6.283 * ((v % 3 + 1) * w - time));
            if (v % 4 == 3) value = (std::fmod(std::floor(8 * u) + std::floor(8 * w) + f, 2.0) - 0.5) * 3.0;
            *p++ = static_cast<float>(1.5 * value);
          }
  return pixels;
}

double cosine(const float* a, const float* b, std::int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

double min_row_cosine(const Tensor& a, const Tensor& b) {
  const std::int64_t d = a.dim(1);
  double worst = 1.0;
  for (std::int64_t r = 0; r < a.dim(0); ++r)
    worst = std::min(worst, cosine(a.data<float>() + r * d, b.data<float>() + r * d, d));
  return worst;
}

// Whether row `row` of `quantized` picks float32's best prompt, or one that ties with it.
bool same_answer(const Tensor& reference, const Tensor& quantized, std::int64_t row) {
  const std::int64_t n = reference.dim(1);
  const float* r = reference.data<float>() + row * n;
  const float* q = quantized.data<float>() + row * n;
  double mean = 0, square = 0;
  for (std::int64_t i = 0; i < n; ++i) mean += r[i];
  mean /= static_cast<double>(n);
  for (std::int64_t i = 0; i < n; ++i) square += (r[i] - mean) * (r[i] - mean);
  const double deviation = std::sqrt(square / static_cast<double>(n));
  const float best = *std::max_element(r, r + n);
  const std::int64_t pick = std::max_element(q, q + n) - q;
  return r[pick] >= best - kTieDeviations * deviation;
}

}  // namespace

std::string ConversionCheck::to_json() const {
  return nlohmann::json{{"min_video_cosine", min_video_cosine}, {"min_text_cosine", min_text_cosine},
                        {"top1_agreement", top1_agreement},     {"videos", videos},
                        {"prompts", prompts},                   {"threshold", threshold},
                        {"top1_threshold", top1_threshold},     {"passed", passed},
                        {"products", products}}
      .dump();
}

ConversionCheck ConversionCheck::from_json(const std::string& text, const std::string& source) {
  const nlohmann::json j = io::parse_json(text, source);
  XCLIP_CHECK(j.is_object(), FormatError) << source << ": the conversion check is not a JSON object";
  ConversionCheck c;
  try {
    c.min_video_cosine = j.at("min_video_cosine").get<double>();
    c.min_text_cosine = j.at("min_text_cosine").get<double>();
    c.top1_agreement = j.at("top1_agreement").get<double>();
    c.videos = j.at("videos").get<int>();
    c.prompts = j.at("prompts").get<int>();
    c.threshold = j.at("threshold").get<double>();
    c.top1_threshold = j.at("top1_threshold").get<double>();
    c.passed = j.at("passed").get<bool>();
    // Checks written before this field ran on int8 kernels (AVX512-VNNI and AMX machines).
    c.products = j.value("products", std::string("int8"));
    XCLIP_CHECK(c.products == "int8" || c.products == "float32" || c.products == "bf16", FormatError)
        << source << ": bad conversion check: unknown products '" << c.products << "'";
  } catch (const nlohmann::json::exception& e) {
    XCLIP_FAIL(FormatError) << source << ": bad conversion check: " << e.what();
  }
  return c;
}

namespace api {

namespace {

struct ProbeOutputs {
  Tensor text_embeds, video_embeds, logits_per_video;
};

ProbeOutputs run_probe(const std::shared_ptr<const Model>& model, const std::string& folder) {
  Session session(model);
  const auto [ids, mask] = probe_text(folder, model->config().text_config);
  ProbeOutputs out;
  out.text_embeds = session.get_text_features(ids, mask);
  const NamedTensors forward = session.forward_with_text_features(probe_videos(model->config().vision_config), out.text_embeds);
  out.video_embeds = forward.at("video_embeds");
  out.logits_per_video = forward.at("logits_per_video");
  return out;
}

}  // namespace

bool int8_check_trusted(const std::optional<ConversionCheck>& check, bool exact_int8_products) {
  return check && check->passed && (check->products == "int8" || !exact_int8_products);
}

ConversionCheck compare_on_probe(const std::shared_ptr<const Model>& reference,
                                 const std::shared_ptr<const Model>& candidate, const std::string& folder,
                                 double threshold, double top1_threshold) {
  const ProbeOutputs expected = run_probe(reference, folder);
  const ProbeOutputs got = run_probe(candidate, folder);
  ConversionCheck check;
  check.videos = kProbeVideos;
  check.prompts = static_cast<int>(expected.text_embeds.dim(0));
  check.threshold = threshold;
  check.top1_threshold = top1_threshold;
  check.min_text_cosine = min_row_cosine(expected.text_embeds, got.text_embeds);
  check.min_video_cosine = min_row_cosine(expected.video_embeds, got.video_embeds);
  int agree = 0;
  for (std::int64_t v = 0; v < kProbeVideos; ++v) agree += same_answer(expected.logits_per_video, got.logits_per_video, v);
  check.top1_agreement = static_cast<double>(agree) / kProbeVideos;
  check.passed = check.min_video_cosine >= threshold && check.min_text_cosine >= threshold &&
                 check.top1_agreement >= top1_threshold;
  check.products = candidate->weights() == WeightType::Bf16 ? "bf16"
                   : ops::int8_products_exact()             ? "int8"
                                                            : "float32";
  return check;
}

std::map<std::string, std::set<std::int64_t>> record_outlier_channels(const std::shared_ptr<const Model>& int8_model,
                                                                      const std::string& folder) {
  ops::OutlierLog log;
  {
    const ops::OutlierLog::Recording recording(log);
    run_probe(int8_model, folder);
  }
  return log.channels();
}

}  // namespace api

}  // namespace xclip
