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
  const std::int64_t d = dim_;
  s.tap("prompts_generator", "in0", text, {batch, texts, d});
  s.tap("prompts_generator", "in1", visual, {batch, patches, d});
  float* normed_visual = s.arena.alloc_floats(batch * patches * d);
  layernorm_.apply(visual, batch * patches, normed_visual);
  s.tap("prompts_generator.layernorm", "out", normed_visual, {batch, patches, d});
  std::memcpy(out, text, sizeof(float) * batch * texts * d);
  for (std::size_t i = 0; i < decoder_.size(); ++i)
    decoder_[i].forward(out, batch, texts, normed_visual, patches, s, "prompts_generator.decoder." + std::to_string(i));
  for (std::int64_t r = 0; r < batch * texts; ++r)
    for (std::int64_t i = 0; i < d; ++i) out[r * d + i] *= alpha_[i];
  s.tap("prompts_generator", "out", out, {batch, texts, d});
}

}  // namespace xclip::model
