#include "model/vision_encoder.h"

namespace xclip::model {

VisionEncoder::VisionEncoder(const WeightLoader& weights, const std::string& prefix, const XCLIPVisionConfig& c)
    : prefix_(prefix), hidden_size_(c.hidden_size) {
  layers_.reserve(c.num_hidden_layers);
  for (int i = 0; i < c.num_hidden_layers; ++i) layers_.emplace_back(weights, prefix + ".layers." + std::to_string(i), c);
}

void VisionEncoder::forward(float* x, std::int64_t videos, std::int64_t frames, std::int64_t tokens, RunState& s) const {
  const std::int64_t images = videos * frames, d = hidden_size_;
  auto hidden_state = [&]() { return RunState::copy_rows(x, images, tokens, tokens + 1, d, {images, tokens, d}); };
  const std::string out = "vision_model_output";
  if (s.want_hidden_states()) s.record(out + "/hidden_states/0", hidden_state());
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Tensor weights =
        layers_[i].forward(x, videos, frames, tokens, s, prefix_ + ".layers." + std::to_string(i), s.want_attentions());
    if (s.want_attentions()) s.record(out + "/attentions/" + std::to_string(i), std::move(weights));
    if (s.want_hidden_states()) s.record(out + "/hidden_states/" + std::to_string(i + 1), hidden_state());
  }
}

}  // namespace xclip::model
