#include "model/multiframe_integration_transformer.h"

#include "ops/interpolate.h"

namespace xclip::model {

namespace {
// The MIT runs an XCLIPEncoder on a copy of the vision config with the mit_* sizes.
EncoderDims mit_dims(const XCLIPVisionConfig& c) {
  return {c.mit_hidden_size, c.mit_intermediate_size, c.mit_num_attention_heads, c.hidden_act, c.layer_norm_eps};
}
}  // namespace

MultiframeIntegrationTransformer::MultiframeIntegrationTransformer(const WeightLoader& weights,
                                                                   const std::string& prefix,
                                                                   const XCLIPVisionConfig& c)
    : frames_(c.num_frames),
      hidden_size_(c.mit_hidden_size),
      position_embedding_(weights.get(prefix + ".position_embedding", {1, c.num_frames, c.mit_hidden_size})),
      encoder_(weights, prefix + ".encoder", mit_dims(c), c.mit_num_hidden_layers) {}

MitOutput MultiframeIntegrationTransformer::forward(const float* cls, std::int64_t videos, std::int64_t frames,
                                                   RunState& s) const {
  ArenaScope scope(s.arena);
  const std::int64_t t = frames, d = hidden_size_, n = videos * t * d;
  s.tap("mit", "in0", cls, {videos, t, d});
  const float* position = position_embedding_;
  if (t != frames_) {
    float* resized = s.arena.alloc_floats(t * d);
    ops::interpolate_linear_rows(position_embedding_, frames_, d, t, resized);
    position = resized;
  }
  float* x = s.arena.alloc_floats(n);
  for (std::int64_t i = 0; i < n; ++i) x[i] = cls[i] + position[i % (t * d)];
  // Its encoder's hidden states and attentions are XCLIPOutput.mit_output's (before the residual).
  encoder_.forward(x, videos, t, ops::AttentionMask{}, s, "mit_output");

  MitOutput out;
  out.last_hidden_state = Tensor::empty(DType::F32, {videos, t, d});
  out.pooler_output = Tensor::zeros(DType::F32, {videos, d});
  float* last = out.last_hidden_state.mutable_data<float>();
  float* pooled = out.pooler_output.mutable_data<float>();
  for (std::int64_t i = 0; i < n; ++i) last[i] = x[i] + cls[i];
  for (std::int64_t v = 0; v < videos; ++v) {
    for (std::int64_t f = 0; f < t; ++f)
      for (std::int64_t i = 0; i < d; ++i) pooled[v * d + i] += last[(v * t + f) * d + i];
    for (std::int64_t i = 0; i < d; ++i) pooled[v * d + i] /= static_cast<float>(t);
  }
  s.tap("mit", "last_hidden_state", out.last_hidden_state);
  s.tap("mit", "pooler_output", out.pooler_output);
  return out;
}

}  // namespace xclip::model
