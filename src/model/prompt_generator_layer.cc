#include "model/prompt_generator_layer.h"

#include "ops/linear.h"

namespace xclip::model {

PromptGeneratorLayer::PromptGeneratorLayer(const WeightLoader& weights, const std::string& prefix,
                                           const XCLIPConfig& c)
    : dim_(c.projection_dim),
      cross_attn_(weights, prefix + ".cross_attn", c),
      // transformers uses the text tower's epsilon for norm1 / norm3.
      norm1_(weights, prefix + ".norm1", c.projection_dim, c.text_config.layer_norm_eps),
      norm3_(weights, prefix + ".norm3", c.projection_dim, c.text_config.layer_norm_eps),
      mlp_fc1_(weights, prefix + ".mlp.0", c.projection_dim, 4 * c.projection_dim, true),
      mlp_fc2_(weights, prefix + ".mlp.3", 4 * c.projection_dim, c.projection_dim, true),
      act_(activation_from_name(c.prompt_hidden_act)) {}

void PromptGeneratorLayer::forward(float* x, std::int64_t batch, std::int64_t texts, const float* visual,
                                   std::int64_t patches, RunState& s, const std::string& path) const {
  ArenaScope scope(s.arena);
  float* kv = s.arena.alloc_floats(batch * patches * 2 * dim_);
  keys_values(visual, batch * patches, kv);
  forward_with_keys_values(x, batch, texts, kv, patches, s, path);
}

void PromptGeneratorLayer::forward_with_keys_values(float* x, std::int64_t batch, std::int64_t texts,
                                                    const float* keys_values, std::int64_t patches, RunState& s,
                                                    const std::string& path) const {
  ArenaScope scope(s.arena);
  const std::int64_t rows = batch * texts, d = dim_;
  float* normed = s.arena.alloc_floats(rows * d);
  norm1_.apply(x, rows, normed);
  cross_attn_.attend_accumulate(normed, batch, texts, keys_values, patches, x, s, path + ".cross_attn");
  norm3_.apply(x, rows, normed);
  float* hidden = s.arena.alloc_floats(rows * mlp_fc1_.out);
  mlp_fc1_.forward(normed, rows, d, hidden, act_);
  mlp_fc2_.forward_accumulate(hidden, rows, x);
  s.tap(path, "out", x, {batch, texts, d});
}

}  // namespace xclip::model
