#include "model/prompt_generator.h"

#include <cstring>

namespace xclip::model {

PromptGenerator::PromptGenerator(const WeightLoader& weights, const std::string& prefix, const XCLIPConfig& c)
    : dim_(c.projection_dim),
      // transformers uses the vision tower's epsilon here.
      layernorm_(weights, prefix + ".layernorm", c.projection_dim, c.vision_config.layer_norm_eps),
      alpha_(nullptr) {
  decoder_.reserve(c.prompt_layers);
  for (int i = 0; i < c.prompt_layers; ++i) decoder_.emplace_back(weights, prefix + ".decoder." + std::to_string(i), c);
  alpha_ = weights.get(prefix + ".alpha", {c.projection_dim});
}

void PromptGenerator::forward(const float* text, std::int64_t batch, std::int64_t texts, const float* visual,
                              std::int64_t patches, float* out, RunState& s) const {
  ArenaScope scope(s.arena);
  s.tap("prompts_generator", "in0", text, {batch, texts, dim_});
  float* kv = s.arena.alloc_floats(layers() * batch * patches * 2 * dim_);
  visual_keys_values(visual, batch, patches, kv, s);
  forward_with_keys_values(text, batch, texts, kv, patches, out, s);
}

void PromptGenerator::visual_keys_values(const float* visual, std::int64_t batch, std::int64_t patches, float* out,
                                         RunState& s) const {
  ArenaScope scope(s.arena);
  const std::int64_t d = dim_, rows = batch * patches;
  s.tap("prompts_generator", "in1", visual, {batch, patches, d});
  float* normed_visual = s.arena.alloc_floats(rows * d);
  layernorm_.apply(visual, rows, normed_visual);
  s.tap("prompts_generator.layernorm", "out", normed_visual, {batch, patches, d});
  for (std::size_t i = 0; i < decoder_.size(); ++i) decoder_[i].keys_values(normed_visual, rows, out + i * rows * 2 * d);
}

void PromptGenerator::forward_with_keys_values(const float* text, std::int64_t batch, std::int64_t texts,
                                               const float* keys_values, std::int64_t patches, float* out,
                                               RunState& s) const {
  const std::int64_t d = dim_, layer_stride = batch * patches * 2 * d;
  std::memcpy(out, text, sizeof(float) * batch * texts * d);
  for (std::size_t i = 0; i < decoder_.size(); ++i)
    decoder_[i].forward_with_keys_values(out, batch, texts, keys_values + i * layer_stride, patches, s,
                                         "prompts_generator.decoder." + std::to_string(i));
  for (std::int64_t r = 0; r < batch * texts; ++r)
    for (std::int64_t i = 0; i < d; ++i) out[r * d + i] *= alpha_[i];
  s.tap("prompts_generator", "out", out, {batch, texts, d});
}

}  // namespace xclip::model
