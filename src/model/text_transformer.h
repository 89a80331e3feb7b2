// XCLIPTextTransformer (the body of XCLIPTextModel): embeddings, causal encoder with optional
// padding mask, final layer norm, end-of-text pooling.
// https://github.com/huggingface/transformers/blob/v5.0.0/src/transformers/models/clip/modeling_clip.py
#pragma once

#include <string>

#include "model/encoder.h"
#include "model/text_embeddings.h"
#include "model/weights.h"

namespace xclip::model {

struct TextOutput {
  Tensor last_hidden_state;  // [texts, length, hidden], only when asked for
  Tensor pooler_output;      // [texts, hidden]
};

class TextTransformer {
 public:
  TextTransformer(const WeightLoader& weights, const std::string& prefix, const XCLIPTextConfig& config);

  // input_ids I64 [texts, length]; attention_mask I64 of the same shape or undefined.
  // Throws InvalidArgument for bad shapes, ids outside the vocabulary, over-long sequences.
  TextOutput forward(const Tensor& input_ids, const Tensor& attention_mask, RunState& s, bool keep_last_hidden_state) const;
  // The checks forward() starts with, for callers that want to fail before other work.
  void validate(const Tensor& input_ids, const Tensor& attention_mask) const;

 private:

  XCLIPTextConfig config_;
  TextEmbeddings embeddings_;
  Encoder encoder_;
  LayerNormWeights final_layer_norm_;
};

}  // namespace xclip::model
