#include "model/encoder.h"

namespace xclip::model {

Encoder::Encoder(const WeightLoader& weights, const std::string& prefix, const EncoderDims& dims, int num_layers)
    : prefix_(prefix), hidden_size_(dims.hidden_size) {
  layers_.reserve(num_layers);
  for (int i = 0; i < num_layers; ++i) layers_.emplace_back(weights, prefix + ".layers." + std::to_string(i), dims);
}

void Encoder::forward(float* x, std::int64_t batch, std::int64_t len, const ops::AttentionMask& mask, RunState& s,
                      const std::string& output_prefix) const {
  const bool hidden = !output_prefix.empty() && s.want_hidden_states();
  const bool attentions = !output_prefix.empty() && s.want_attentions();
  const std::vector<std::int64_t> shape{batch, len, hidden_size_};
  if (hidden) s.record(output_prefix + "/hidden_states/0", RunState::copy(x, shape));
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Tensor weights = layers_[i].forward(x, batch, len, mask, s, prefix_ + ".layers." + std::to_string(i), attentions);
    if (attentions) s.record(output_prefix + "/attentions/" + std::to_string(i), std::move(weights));
    if (hidden) s.record(output_prefix + "/hidden_states/" + std::to_string(i + 1), RunState::copy(x, shape));
  }
}

}  // namespace xclip::model
