// XCLIPPromptGenerator (VideoSpecificPrompt of the paper): text features attend to the
// video's patch features through prompt_layers decoder layers; output alpha ⊙ text.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/x_clip/modular_x_clip.py
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/prompt_generator_layer.h"

namespace xclip::model {

class PromptGenerator {
 public:
  PromptGenerator(const WeightLoader& weights, const std::string& prefix, const XCLIPConfig& config);

  // text [batch, texts, dim], visual [batch, patches, dim] -> out [batch, texts, dim].
  void forward(const float* text, std::int64_t batch, std::int64_t texts, const float* visual, std::int64_t patches,
               float* out, RunState& s) const;

  // forward() in two halves. visual_keys_values: the keys and values every decoder layer
  // derives from visual [batch, patches, dim], out [layers, batch, patches, 2·dim]; they
  // depend on the video alone, so a search index stores them per window.
  void visual_keys_values(const float* visual, std::int64_t batch, std::int64_t patches, float* out, RunState& s) const;
  // The text side against visual_keys_values() output.
  void forward_with_keys_values(const float* text, std::int64_t batch, std::int64_t texts, const float* keys_values,
                                std::int64_t patches, float* out, RunState& s) const;
  std::int64_t layers() const { return static_cast<std::int64_t>(decoder_.size()); }

 private:
  std::int64_t dim_;
  LayerNormWeights layernorm_;
  std::vector<PromptGeneratorLayer> decoder_;
  const float* alpha_;  // alpha [dim]
};

}  // namespace xclip::model
