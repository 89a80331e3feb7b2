#include "model/xclip_model.h"

#include <cmath>
#include <cstring>

#include "core/check.h"
#include "ops/layer_norm.h"
#include "ops/linear.h"

namespace xclip::model {

XclipModel::XclipModel(const WeightLoader& weights, const XCLIPConfig& c)
    : config_(c),
      text_model_(weights, "text_model", c.text_config),
      vision_model_(weights, "vision_model", c.vision_config),
      visual_projection_(weights, "visual_projection", c.vision_config.hidden_size, c.projection_dim, false, false),
      text_projection_(weights, "text_projection", c.text_config.hidden_size, c.projection_dim, false, false),
      logit_scale_(weights.get("logit_scale", {})),
      prompts_visual_layernorm_(weights, "prompts_visual_layernorm", c.vision_config.hidden_size,
                                c.vision_config.layer_norm_eps),
      prompts_visual_projection_(weights.get("prompts_visual_projection", {c.vision_config.hidden_size, c.projection_dim})),
      mit_(weights, "mit", c.vision_config),
      prompts_generator_(weights, "prompts_generator", c) {}

MitOutput XclipModel::video_embedding(const VisionOutput& vision, RunState& s) const {
  ArenaScope scope(s.arena);
  const std::int64_t images = vision.videos * vision.frames, dp = config_.projection_dim;
  float* cls = s.arena.alloc_floats(images * dp);
  ops::linear(vision.pooler_output.data<float>(), images, visual_projection_.in, visual_projection_.in,
              visual_projection_.weight, nullptr, dp, cls);
  s.tap("visual_projection", "out", cls, {images, dp});
  return mit_.forward(cls, vision.videos, vision.frames, s);
}

float* XclipModel::prompt_image_features(const VisionOutput& vision, RunState& s) const {
  const std::int64_t dv = config_.vision_config.hidden_size, dp = config_.projection_dim;
  const std::int64_t patches = vision.tokens - 1, stride = vision.tokens + 1, frames = vision.frames;
  const std::int64_t images = vision.videos * frames;
  float* features = s.arena.alloc_floats(vision.videos * patches * dp);
  ArenaScope scope(s.arena);
  float* normed = s.arena.alloc_floats(images * patches * dv);
  for (std::int64_t f = 0; f < images; ++f) {
    ops::layer_norm(vision.hidden + (f * stride + 1) * dv, patches, dv, dv, prompts_visual_layernorm_.weight,
                    prompts_visual_layernorm_.bias, prompts_visual_layernorm_.eps, normed + f * patches * dv);
  }
  s.tap("prompts_visual_layernorm", "out", normed, {images, patches, dv});
  // mean_t(x_t · P) = mean_t(x_t) · P: average the frames first, T times fewer flops.
  float* mean = s.arena.alloc_floats(vision.videos * patches * dv);
  const float inv = 1.0f / static_cast<float>(frames);
  for (std::int64_t v = 0; v < vision.videos; ++v) {
    float* dst = mean + v * patches * dv;
    std::memcpy(dst, normed + v * frames * patches * dv, sizeof(float) * patches * dv);
    for (std::int64_t t = 1; t < frames; ++t) {
      const float* src = normed + (v * frames + t) * patches * dv;
      for (std::int64_t i = 0; i < patches * dv; ++i) dst[i] += src[i];
    }
    for (std::int64_t i = 0; i < patches * dv; ++i) dst[i] *= inv;
  }
  ops::matmul(mean, vision.videos * patches, dv, prompts_visual_projection_, dp, features);
  return features;
}

Tensor XclipModel::contrastive_loss(const Tensor& logits_per_text) const {
  const std::int64_t n = logits_per_text.dim(0);
  XCLIP_CHECK(n == logits_per_text.dim(1), InvalidArgument)
      << "return_loss needs as many texts as videos (text i describes video i), got " << n << " texts and "
      << logits_per_text.dim(1) << " videos";
  const float* l = logits_per_text.data<float>();
  // Mean cross-entropy with target i for row i, over the rows and over the columns.
  auto cross_entropy = [&](bool transpose) {
    double total = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      auto at = [&](std::int64_t j) { return static_cast<double>(transpose ? l[j * n + i] : l[i * n + j]); };
      double m = at(0);
      for (std::int64_t j = 1; j < n; ++j) m = std::max(m, at(j));
      double sum = 0.0;
      for (std::int64_t j = 0; j < n; ++j) sum += std::exp(at(j) - m);
      total += m + std::log(sum) - at(i);
    }
    return total / static_cast<double>(n);
  };
  const float loss = static_cast<float>((cross_entropy(false) + cross_entropy(true)) / 2.0);
  return Tensor::from_values<float>(DType::F32, {1}, &loss);
}

namespace {

void l2_normalize_rows(float* x, std::int64_t rows, std::int64_t d) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * d;
    double sq = 0.0;
    for (std::int64_t i = 0; i < d; ++i) sq += static_cast<double>(row[i]) * row[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(sq));
    for (std::int64_t i = 0; i < d; ++i) row[i] *= inv;
  }
}

}  // namespace

Tensor XclipModel::video_conditioned_text(const Tensor& text_features, std::int64_t videos, const float* keys_values,
                                          std::int64_t patches, RunState& s) const {
  ArenaScope scope(s.arena);
  const std::int64_t dp = config_.projection_dim, texts = text_features.dim(0);
  // Video-specific prompts: every video sees every text.
  Tensor text_embeds = Tensor::empty(DType::F32, {videos, texts, dp});
  float* te = text_embeds.mutable_data<float>();
  float* expanded = s.arena.alloc_floats(videos * texts * dp);
  for (std::int64_t v = 0; v < videos; ++v)
    std::memcpy(expanded + v * texts * dp, text_features.data<float>(), sizeof(float) * texts * dp);
  s.tap("prompts_generator", "in0", expanded, {videos, texts, dp});
  prompts_generator_.forward_with_keys_values(expanded, videos, texts, keys_values, patches, te, s);
  for (std::int64_t i = 0; i < videos * texts * dp; ++i) te[i] += expanded[i];
  l2_normalize_rows(te, videos * texts, dp);
  return text_embeds;
}

Tensor XclipModel::scaled_similarity(const Tensor& video_embeds, const Tensor& text_embeds) const {
  const std::int64_t dp = config_.projection_dim, videos = video_embeds.dim(0), texts = text_embeds.dim(1);
  const float scale = std::exp(*logit_scale_);
  Tensor logits_per_video = Tensor::empty(DType::F32, {videos, texts});
  for (std::int64_t v = 0; v < videos; ++v) {
    for (std::int64_t t = 0; t < texts; ++t) {
      const float* a = video_embeds.data<float>() + v * dp;
      const float* b = text_embeds.data<float>() + (v * texts + t) * dp;
      float dot = 0.0f;
      for (std::int64_t i = 0; i < dp; ++i) dot += a[i] * (scale * b[i]);
      logits_per_video.mutable_data<float>()[v * texts + t] = dot;
    }
  }
  return logits_per_video;
}

void XclipModel::head(const MitOutput& mit, const float* image_features, std::int64_t patches,
                      const Tensor& text_features, RunState& s, NamedTensors& out) const {
  ArenaScope scope(s.arena);
  const std::int64_t videos = mit.pooler_output.dim(0), texts = text_features.dim(0);
  float* keys_values = s.arena.alloc_floats(prompts_generator_.layers() * videos * patches * 2 * config_.projection_dim);
  prompts_generator_.visual_keys_values(image_features, videos, patches, keys_values, s);
  Tensor text_embeds = video_conditioned_text(text_features, videos, keys_values, patches, s);

  Tensor video_embeds = mit.pooler_output.clone();
  l2_normalize_rows(video_embeds.mutable_data<float>(), videos, config_.projection_dim);
  Tensor logits_per_video = scaled_similarity(video_embeds, text_embeds);
  Tensor logits_per_text = Tensor::empty(DType::F32, {texts, videos});
  for (std::int64_t v = 0; v < videos; ++v)
    for (std::int64_t t = 0; t < texts; ++t)
      logits_per_text.mutable_data<float>()[t * videos + v] = logits_per_video.data<float>()[v * texts + t];

  out.add("logits_per_video", logits_per_video);
  out.add("logits_per_text", logits_per_text);
  out.add("text_embeds", text_embeds);
  out.add("video_embeds", video_embeds);
}

VideoSearchFeatures XclipModel::video_search_features(const Tensor& pixel_values, bool interpolate_pos_encoding,
                                                      RunState& s) const {
  ArenaScope scope(s.arena);
  const VisionOutput vision = vision_model_.forward(pixel_values, interpolate_pos_encoding, s);
  VideoSearchFeatures out;
  out.video_embeds = video_embedding(vision, s).pooler_output;
  const float* image_features = prompt_image_features(vision, s);
  const std::int64_t patches = vision.tokens - 1;
  out.prompt_keys_values = Tensor::empty(
      DType::F32, {prompts_generator_.layers(), vision.videos, patches, 2 * config_.projection_dim});
  prompts_generator_.visual_keys_values(image_features, vision.videos, patches,
                                        out.prompt_keys_values.mutable_data<float>(), s);
  return out;
}

Tensor XclipModel::logits_from_video_features(const VideoSearchFeatures& video, const Tensor& text_features,
                                              RunState& s) const {
  const std::int64_t dp = config_.projection_dim;
  check_text_features(text_features);
  const Tensor& e = video.video_embeds;
  const Tensor& kv = video.prompt_keys_values;
  XCLIP_CHECK(e.defined() && e.dtype() == DType::F32 && e.rank() == 2 && e.dim(1) == dp && e.dim(0) > 0,
              InvalidArgument)
      << "video_embeds: expected F32 [videos, " << dp << "], got " << e.describe();
  XCLIP_CHECK(kv.defined() && kv.dtype() == DType::F32 && kv.rank() == 4 && kv.dim(0) == prompts_generator_.layers() &&
                  kv.dim(1) == e.dim(0) && kv.dim(2) > 0 && kv.dim(3) == 2 * dp,
              InvalidArgument)
      << "prompt_keys_values: expected F32 [" << prompts_generator_.layers() << ", " << e.dim(0) << ", patches, "
      << 2 * dp << "], got " << kv.describe();
  ArenaScope scope(s.arena);
  const Tensor text_embeds = video_conditioned_text(text_features, e.dim(0), kv.data<float>(), kv.dim(2), s);
  Tensor video_embeds = e.clone();
  l2_normalize_rows(video_embeds.mutable_data<float>(), e.dim(0), dp);
  return scaled_similarity(video_embeds, text_embeds);
}

void XclipModel::check_text_features(const Tensor& text_features) const {
  const std::int64_t dp = config_.projection_dim;
  XCLIP_CHECK(text_features.defined() && text_features.dtype() == DType::F32 && text_features.rank() == 2 &&
                  text_features.dim(1) == dp && text_features.dim(0) > 0,
              InvalidArgument)
      << "text_features: expected F32 [texts, " << dp << "] (get_text_features), got " << text_features.describe();
}

NamedTensors XclipModel::forward_with_text_features(const Tensor& pixel_values, const Tensor& text_features,
                                                    RunState& s) const {
  check_text_features(text_features);
  ArenaScope scope(s.arena);
  const VisionOutput vision = vision_model_.forward(pixel_values, s.options.interpolate_pos_encoding, s);
  MitOutput mit = video_embedding(vision, s);
  const float* image_features = prompt_image_features(vision, s);
  NamedTensors out;
  head(mit, image_features, vision.tokens - 1, text_features, s, out);
  return out;
}

Tensor XclipModel::project_text(const TextOutput& text, RunState& s) const {
  const std::int64_t texts = text.pooler_output.dim(0), dp = config_.projection_dim;
  Tensor features = Tensor::empty(DType::F32, {texts, dp});
  ops::linear(text.pooler_output.data<float>(), texts, text_projection_.in, text_projection_.in, text_projection_.weight,
              nullptr, dp, features.mutable_data<float>());
  s.tap("text_projection", "out", features);
  return features;
}

NamedTensors XclipModel::forward(const ForwardInputs& in, RunState& s) const {
  XCLIP_CHECK(in.input_ids.defined(), InvalidArgument) << "forward needs input_ids";
  XCLIP_CHECK(in.pixel_values.defined(), InvalidArgument) << "forward needs pixel_values";
  text_model_.validate(in.input_ids, in.attention_mask);  // before the expensive vision tower
  NamedTensors recorded;
  s.outputs = &recorded;
  ArenaScope scope(s.arena);

  const VisionOutput vision = vision_model_.forward(in.pixel_values, s.options.interpolate_pos_encoding, s);
  MitOutput mit = video_embedding(vision, s);
  const float* image_features = prompt_image_features(vision, s);

  TextOutput text = text_model_.forward(in.input_ids, in.attention_mask, s, true);
  const Tensor text_features = project_text(text, s);

  NamedTensors out;
  head(mit, image_features, vision.tokens - 1, text_features, s, out);
  if (s.options.return_loss) out.add("loss", contrastive_loss(out.at("logits_per_text")));
  out.add("text_model_output/last_hidden_state", text.last_hidden_state);
  out.add("text_model_output/pooler_output", text.pooler_output);
  out.add("vision_model_output/last_hidden_state", vision_model_.last_hidden_state(vision));
  out.add("vision_model_output/pooler_output", vision.pooler_output);
  out.add("mit_output/last_hidden_state", mit.last_hidden_state);
  out.add("mit_output/pooler_output", mit.pooler_output);
  for (const auto& [name, value] : recorded.items()) out.add(name, value);
  s.outputs = nullptr;
  return out;
}

Tensor XclipModel::get_text_features(const Tensor& input_ids, const Tensor& attention_mask, RunState& s) const {
  ArenaScope scope(s.arena);
  return project_text(text_model_.forward(input_ids, attention_mask, s, false), s);
}

Tensor XclipModel::get_video_features(const Tensor& pixel_values, bool interpolate_pos_encoding, RunState& s) const {
  ArenaScope scope(s.arena);
  const VisionOutput vision = vision_model_.forward(pixel_values, interpolate_pos_encoding, s);
  return video_embedding(vision, s).pooler_output;
}

}  // namespace xclip::model
